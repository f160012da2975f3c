#pragma once

// A sink bolt that appends one line per tuple to a file. Part of libgale_files (pkg-config module
// gale-files); docs/connectors.md has the configuration keys.

#include <memory>

#include <gale/bolt.hpp>
#include <gale/config.hpp>
#include <gale/config_schema.hpp>

namespace gale::bolts {

// Formats each input as one line (files.format, a template such as "{word}\t{count}", or
// files.fields joined by files.delimiter) and appends it to files.path ("{task}" in the path is
// replaced by the task index, so that tasks write separate files). Lines are buffered and written
// when files.batch.size inputs are waiting or on a tick (every files.flush.secs, which the bolt
// sets as its topology.tick.tuple.freq.secs); the inputs are acked only once their lines are
// written, and fsynced when files.fsync is true (the default). When the write or the fsync fails,
// every input of the batch is failed (its spout replays it), the error is reported naming the file,
// and what the batch wrote is cut off again, so no partial line stays; the next batch opens the
// file again. An input lacking a field the format names is failed at once, the error naming the
// field and the tuple. Values are written as they are (a string with a newline makes two lines).
// Thread: all callbacks of one task run on that task's executor thread.
class FileBolt : public Bolt {
 public:
  // Checks `config` (keys "files.*", see schema()); throws gale::ConfigError naming the bad key.
  explicit FileBolt(const Config& config);
  ~FileBolt() override;

  // The keys FileBolt accepts, with their defaults.
  [[nodiscard]] static ConfigSchema schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  void prepare(const Context& context, BoltCollector& out) override;
  void execute(const Tuple& input, BoltCollector& out) override;
  void cleanup() override;
  // topology.tick.tuple.freq.secs = files.flush.secs.
  Config component_config() const override;

 private:
  struct Writer;  // the open file and the batch (bolts/file_bolt.cpp)

  // Constant after construction.
  Config config_;  // resolved against schema()
  // Task state, created by prepare().
  std::unique_ptr<Writer> writer_;
};

}  // namespace gale::bolts
