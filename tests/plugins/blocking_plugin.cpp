// A plugin whose build function never returns: nimbus's plugin check must time out, kill the
// checking child and reap it, and the child must die with a SIGKILLed nimbus.
#include <unistd.h>

#include <gale/gale.hpp>

namespace {

void build(gale::TopologyBuilder&, gale::Config&) {
  for (;;) ::pause();
}

}  // namespace

GALE_TOPOLOGY(build)
