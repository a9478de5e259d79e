// A shared library that is not a plugin (no entry points).
extern "C" int some_function() { return 42; }
