#include "iterators.hpp"

namespace {

template <class Iterator>
void bind_iterator(py::module_ &m, const char *name) {
    py::class_<Iterator>(m, name)
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &Iterator::next);
}

}  // namespace

void bind_iterators(py::module_ &m) {
    bind_iterator<BucketIterator>(m, "_BucketIterator");
    bind_iterator<ObjectIterator>(m, "_ObjectIterator");
    bind_iterator<UploadIterator>(m, "_UploadIterator");
    bind_iterator<PartIterator>(m, "_PartIterator");
    bind_iterator<VersionIterator>(m, "_VersionIterator");
}
