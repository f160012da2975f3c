#pragma once

// The plugin ABI version. A plugin records the version it was compiled against; the loader refuses a
// plugin whose version differs, before calling anything else in it. Bump it whenever a public class
// layout or virtual function table changes.
#define GALE_ABI_VERSION 4

#define GALE_VERSION_STRING "0.1.0"
