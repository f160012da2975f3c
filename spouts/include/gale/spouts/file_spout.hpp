#pragma once

// A reliable spout over the lines of a file, or of every file in a directory, following them as
// they grow (`tail -F`). Part of libgale_files (pkg-config module gale-files); docs/connectors.md
// has the configuration keys and the guarantees.

#include <memory>

#include <gale/config.hpp>
#include <gale/config_schema.hpp>
#include <gale/spout.hpp>

namespace gale::spouts {

// Emits each complete line (without its newline) of the files under files.path on the default
// stream, fields ("line"), or ("line", "file", "offset") with files.emit.position, with message id
// [file path, byte offset of the line, generation] (the generation counts how often this task saw
// the file truncated or replaced, so an ack of the old content is never taken for the new one).
//
// Each file is read by one task (a stable hash of its path modulo the task count). A task keeps a
// durable offset file (files.offsets.dir/COMPONENT.TASK_INDEX.offsets) that it advances only past
// lines whose trees were acked contiguously, every files.commit.interval.ms and at deactivate()
// and close(), so a restart, or a killed worker, resumes without losing a line (at-least-once:
// lines after the last commit are read again). A failed line is emitted again after the retry
// delay; after files.retry.max retries, or when it is longer than files.max.line.bytes, it goes
// to the error stream (files.error.stream; fields "position" = "PATH:OFFSET", "record", "reason")
// with the same message id, and counts as done once that tuple is acked. A truncated or replaced
// file is reported and read again from its beginning.
//
// Problems (a missing path, an unreadable file, a damaged offset file, an offset file that cannot
// be written) are reported through report_error, naming the path and the reason, and retried; they
// never throw out of a callback.
//
// next_tuple() never blocks: it reads at most files.read.bytes and emits what that completes.
// Thread: all callbacks of one task run on that task's executor thread.
class FileSpout : public Spout {
 public:
  // Checks `config` (keys "files.*", see schema()); throws gale::ConfigError naming the bad key.
  explicit FileSpout(const Config& config);
  ~FileSpout() override;

  // The keys FileSpout accepts, with their defaults.
  [[nodiscard]] static ConfigSchema schema();

  void declare_outputs(OutputDeclarer& declarer) override;
  void open(const Context& context, SpoutCollector& out) override;
  void next_tuple() override;
  void ack(const MessageId& id) override;
  void fail(const MessageId& id) override;
  void deactivate() override;
  void close() override;

 private:
  struct Task;  // the task's files, lines in flight and offset file (spouts/file_spout.cpp)

  // Constant after construction.
  Config config_;  // resolved against schema()
  // Task state, created by open().
  std::unique_ptr<Task> task_;
};

}  // namespace gale::spouts
