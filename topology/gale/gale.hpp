#pragma once

// Everything a topology plugin needs.
#include <gale/bolt.hpp>
#include <gale/builder.hpp>
#include <gale/collector.hpp>
#include <gale/component.hpp>
#include <gale/config.hpp>
#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/fields.hpp>
#include <gale/grouping.hpp>
#include <gale/output_declarer.hpp>
#include <gale/plugin.hpp>
#include <gale/spout.hpp>
#include <gale/streams.hpp>
#include <gale/task_layout.hpp>
#include <gale/topology.hpp>
#include <gale/tuple.hpp>
#include <gale/value.hpp>
#include <gale/version.hpp>
#include <gale/window.hpp>
