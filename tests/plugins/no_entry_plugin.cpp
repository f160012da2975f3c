// A plain shared library without the Gale entry points: what a plugin author gets when they write
// a build function but forget GALE_TOPOLOGY(build).
#include <gale/gale.hpp>

void build(gale::TopologyBuilder&, gale::Config&) {}

extern "C" __attribute__((visibility("default"))) int not_a_gale_entry_point() { return 42; }
