package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"unsafe"

	"storj.io/uplink"
)

// cBucket allocates a C copy of b; NULL for nil.
func cBucket(b *uplink.Bucket) *C.UplinkBucket {
	if b == nil {
		return nil
	}
	c := calloc[C.UplinkBucket]()
	c.name = C.CString(b.Name)
	c.created = timeToUnix(b.Created)
	return c
}

// bucketCall runs one bucket-level uplink call on a project call context. Both
// the bucket and the error are kept when uplink returns both (CreateBucket of
// an existing bucket).
func bucketCall(p *C.UplinkProject, name *C.char, fn func(*uplink.Project, context.Context, string) (*uplink.Bucket, error)) C.UplinkBucketResult {
	bucket, cerr := requiredString(name, "bucket_name")
	if cerr != nil {
		return C.UplinkBucketResult{error: cerr}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkBucketResult{error: cerr}
	}
	defer done()
	b, err := fn(proj.uplink, ctx, bucket)
	return C.UplinkBucketResult{bucket: cBucket(b), error: newError(ctx, err)}
}

//export uplink_stat_bucket
func uplink_stat_bucket(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	return bucketCall(p, bucket_name, (*uplink.Project).StatBucket)
}

//export uplink_create_bucket
func uplink_create_bucket(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	return bucketCall(p, bucket_name, (*uplink.Project).CreateBucket)
}

//export uplink_ensure_bucket
func uplink_ensure_bucket(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	return bucketCall(p, bucket_name, (*uplink.Project).EnsureBucket)
}

//export uplink_delete_bucket
func uplink_delete_bucket(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	return bucketCall(p, bucket_name, (*uplink.Project).DeleteBucket)
}

//export uplink_delete_bucket_with_objects
func uplink_delete_bucket_with_objects(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	return bucketCall(p, bucket_name, (*uplink.Project).DeleteBucketWithObjects)
}

//export uplink_free_bucket
func uplink_free_bucket(b *C.UplinkBucket) {
	defer recoverSilently()
	if b == nil {
		return
	}
	C.free(unsafe.Pointer(b.name))
	C.free(unsafe.Pointer(b))
}

//export uplink_free_bucket_result
func uplink_free_bucket_result(result C.UplinkBucketResult) {
	defer recoverSilently()
	uplink_free_bucket(result.bucket)
	uplink_free_error(result.error)
}

// bucketIterator is the Go value behind an UplinkBucketIterator handle.
type bucketIterator struct {
	iterator
	it *uplink.BucketIterator
}

//export uplink_list_buckets
func uplink_list_buckets(p *C.UplinkProject, options *C.UplinkListBucketsOptions) (result *C.UplinkBucketIterator) {
	defer recoverSilently()
	it := &bucketIterator{}
	if proj, ok := lookup[*project](handleID(p)); !ok {
		it.err = errInvalidHandle
	} else if it.start(proj) {
		var opts uplink.ListBucketsOptions
		if options != nil {
			opts.Cursor = optionalString(options.cursor)
		}
		it.it = proj.uplink.ListBuckets(it.uctx, &opts)
	}
	return newHandleStruct[C.UplinkBucketIterator](it)
}

//export uplink_bucket_iterator_next
func uplink_bucket_iterator_next(iter *C.UplinkBucketIterator) (ok C.bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	it, found := lookup[*bucketIterator](handleID(iter))
	return C.bool(found && it.it != nil && it.step(it.it.Next))
}

//export uplink_bucket_iterator_err
func uplink_bucket_iterator_err(iter *C.UplinkBucketIterator) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	it, found := lookup[*bucketIterator](handleID(iter))
	if !found {
		return invalidHandle()
	}
	if it.it == nil {
		return it.error(nil)
	}
	return it.error(it.it.Err())
}

//export uplink_bucket_iterator_item
func uplink_bucket_iterator_item(iter *C.UplinkBucketIterator) (b *C.UplinkBucket) {
	defer recoverSilently()
	it, found := lookup[*bucketIterator](handleID(iter))
	if !found || it.it == nil {
		return nil
	}
	return cBucket(it.it.Item())
}

//export uplink_free_bucket_iterator
func uplink_free_bucket_iterator(iter *C.UplinkBucketIterator) {
	defer recoverSilently()
	if it, ok := freeHandleStruct(iter).(*bucketIterator); ok {
		it.release()
	}
}
