#pragma once

// GALE_API marks what libgale exports; the library is built with hidden visibility so that only
// the public API (and the few runtime entry points the `gale` command and tests use) is visible.
#if defined(__GNUC__)
#define GALE_API __attribute__((visibility("default")))
#else
#define GALE_API
#endif
