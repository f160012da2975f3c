#include <gale/bolts/file_bolt.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gale/context.hpp>
#include <gale/errors.hpp>

#include "bolts/files/line_format.hpp"
#include "spouts/files/durable_io.hpp"

namespace gale::bolts {
namespace {

using spouts::files::errno_message;

files::LineFormat format_of(const Config& config) {
  const std::string text = config.get_string("files.format", "");
  if (!text.empty()) return files::LineFormat::from_template(text);
  return files::LineFormat::joined(string_list(config, "files.fields"),
                                   config.get_string("files.delimiter", "\t"));
}

std::string path_for_task(std::string path, int task_index) {
  const std::string placeholder = "{task}";
  for (auto at = path.find(placeholder); at != std::string::npos; at = path.find(placeholder)) {
    path.replace(at, placeholder.size(), std::to_string(task_index));
  }
  return path;
}

}  // namespace

// Thread: the bolt task's executor thread.
struct FileBolt::Writer {
  // Constant after prepare().
  files::LineFormat format;
  std::string path;
  std::size_t batch_size;
  bool fsync;
  BoltCollector* out;

  // Task state.
  int fd = -1;             // open in append mode; -1 until the first flush or after a failure
  std::string buffer;      // the lines of `batch`
  std::vector<Tuple> batch;  // inputs written to `buffer`, acked after the flush

  Writer(const Config& config, const Context& context, BoltCollector& collector)
      : format(format_of(config)),
        path(path_for_task(config.get_string("files.path", ""), context.task_index())),
        batch_size(static_cast<std::size_t>(config.get_int("files.batch.size", 1))),
        fsync(config.get_bool("files.fsync", true)),
        out(&collector) {}
  ~Writer() { close_file(); }

  void execute(const Tuple& input) {
    if (input.is_tick()) {
      flush();
      return;
    }
    try {
      format.append(input, buffer);
    } catch (const std::invalid_argument& e) {
      out->report_error("FileBolt: " + std::string(e.what()));
      out->fail(input);
      return;
    }
    batch.push_back(input);
    if (batch.size() >= batch_size) flush();
  }

  // Writes the batch and acks it, or fails all of it.
  void flush() {
    if (batch.empty()) return;
    if (const std::string error = write_batch(); !error.empty()) {
      out->report_error("FileBolt: " + error + "; failing " + std::to_string(batch.size()) +
                        " tuples");
      for (const Tuple& t : batch) out->fail(t);
    } else {
      for (const Tuple& t : batch) out->ack(t);
    }
    batch.clear();
    buffer.clear();
  }

  // Appends the buffer durably. Returns "" or what went wrong, naming the file.
  std::string write_batch() {
    if (fd < 0) {
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) return errno_message("cannot open", path);
    }
    struct stat before {};
    const bool sized = ::fstat(fd, &before) == 0;
    if (spouts::files::write_all(fd, buffer) && (!fsync || ::fdatasync(fd) == 0)) return "";
    std::string error = errno_message(fsync ? "cannot write or sync" : "cannot write", path);
    // No partial line may stay behind a failed batch: the replay writes the lines again.
    if (sized) (void)::ftruncate(fd, before.st_size);
    close_file();
    return error;
  }

  void close_file() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

FileBolt::FileBolt(const Config& config) : config_(schema().resolve(config)) {
  if (config_.get_string("files.path", "").empty()) {
    throw ConfigError("FileBolt: config key 'files.path' must not be empty");
  }
  try {
    (void)format_of(config_);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("FileBolt: config key 'files.format' is not a valid template: " +
                      std::string(e.what()));
  }
}

FileBolt::~FileBolt() = default;

ConfigSchema FileBolt::schema() {
  ConfigSchema schema("FileBolt");
  schema.required_string("files.path", "file the lines are appended to; {task}: the task index")
      .string("files.format", "",
              "line template, e.g. {word}\\t{count} ({{ and }} for braces); overrides files.fields")
      .string_list("files.fields", {}, "fields written, joined by files.delimiter; empty: all")
      .string("files.delimiter", "\t", "between the fields of files.fields")
      .integer("files.batch.size", 1000, 1, 10'000'000, "inputs buffered before a write")
      .floating("files.flush.secs", 0.1, 0.001, 86'400,
                "a partial batch is written after this long (seconds, fractions allowed)")
      .boolean("files.fsync", true, "fdatasync each write before the inputs are acked");
  return schema;
}

void FileBolt::declare_outputs(OutputDeclarer&) {}

void FileBolt::prepare(const Context& context, BoltCollector& out) {
  writer_ = std::make_unique<Writer>(config_, context, out);
}

void FileBolt::execute(const Tuple& input, BoltCollector&) { writer_->execute(input); }

void FileBolt::cleanup() {
  if (writer_) writer_->flush();
}

Config FileBolt::component_config() const {
  Config config;
  config.set(keys::topology_tick_tuple_freq_secs, config_.get_double("files.flush.secs", 0.1));
  return config;
}

}  // namespace gale::bolts
