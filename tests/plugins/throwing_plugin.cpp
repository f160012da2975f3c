// A plugin whose build function throws: the loader reports the message as a PluginError.
#include <gale/gale.hpp>
#include <stdexcept>

namespace {

void build(gale::TopologyBuilder&, gale::Config&) { throw std::runtime_error("boom from build"); }

}  // namespace

GALE_TOPOLOGY(build)
