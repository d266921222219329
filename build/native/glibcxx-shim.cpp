// Provides std::ios_base_library_init() (new in GCC 13, GLIBCXX_3.4.32) for systems whose libstdc++ is older.
// GCC 13 emits a call to it from every translation unit that includes <iostream>; its job is to make sure the
// standard streams are constructed, which a static ios_base::Init does on older libstdc++ as well.
#include <ios>

namespace std {
void ios_base_library_init() {
    static ios_base::Init init;
}
}
