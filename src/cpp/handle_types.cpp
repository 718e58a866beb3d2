#include "handle_types.hpp"

HandleTypes &handle_types() {
    static HandleTypes *types = new HandleTypes();
    return *types;
}
