#include <gale/spouts/file_spout.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/spouts/offset_tracker.hpp>
#include <gale/spouts/retry_schedule.hpp>

#include "spouts/files/file_discovery.hpp"
#include "spouts/files/followed_file.hpp"
#include "spouts/files/offset_file.hpp"

namespace gale::spouts {
namespace {

using Clock = std::chrono::steady_clock;
using files::CommittedOffsets;
using files::FileChange;
using files::FollowedFile;
using files::Line;

// Emits per next_tuple() call, so that one call stays short.
constexpr int k_emits_per_call = 256;
// The longest wait between two attempts to read a missing files.path.
constexpr std::chrono::milliseconds k_max_source_backoff{30'000};

// A line in flight: (path, generation, offset).
using LineKey = std::tuple<std::string, std::int64_t, std::int64_t>;

MessageId message_id(const LineKey& key) {
  return MessageId(List{Value(std::get<0>(key)), Value(std::get<2>(key)), Value(std::get<1>(key))});
}

// The key of a message id this spout emitted; nullopt for anything else.
std::optional<LineKey> key_of(const MessageId& id) {
  if (!id.is_list()) return std::nullopt;
  const List& parts = id.as_list();
  if (parts.size() != 3 || !parts[0].is_string() || !parts[1].is_int() || !parts[2].is_int()) {
    return std::nullopt;
  }
  return LineKey{parts[0].as_string(), parts[2].as_int(), parts[1].as_int()};
}

std::string position_of(const LineKey& key) {
  return std::get<0>(key) + ':' + std::to_string(std::get<2>(key));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Thread: the spout task's executor thread.
struct FileSpout::Task {
  // One followed file: where it is read and which of its lines are done.
  struct Followed {
    FollowedFile file;
    OffsetTracker tracker;
    std::int64_t generation = 0;
  };
  // A line emitted and not done yet. The line is kept in memory until it is done, rather than
  // read again for a retry: by then the file may be truncated or rotated away, and a retry must
  // emit the line that failed. Memory stays bounded: no new line is read while max_in_flight
  // lines are held (topology.max.spout.pending), each at most files.max.line.bytes.
  struct InFlight {
    std::int64_t next = 0;
    std::string text;
    std::string reason;  // not empty: the line goes (or went) to the error stream, for this reason
  };
  // A line read and not yet emitted.
  struct Ready {
    std::string path;
    std::int64_t generation = 0;
    Line line;
  };

  // Constant after open().
  std::string source;
  std::string pattern;
  std::string error_stream;
  bool emit_position = false;
  std::size_t max_line_bytes = 0;
  std::size_t read_bytes = 0;
  std::chrono::milliseconds poll_interval{0};
  std::chrono::milliseconds commit_interval{0};
  std::int64_t max_retries = 0;
  int task_index = 0;
  std::size_t tasks = 1;
  std::size_t max_in_flight = 0;
  files::OffsetFile offset_file;
  SpoutCollector* out = nullptr;

  // Task state.
  CommittedOffsets resumed;  // what the offset files said at open(), for files not yet opened
  CommittedOffsets stored;   // what this task last stored (times zeroed), to skip idle rewrites
  std::map<std::string, Followed> open_files;
  std::string next_to_read;  // round robin: the path read after the last one
  std::deque<Ready> ready;
  std::map<LineKey, InFlight> in_flight;
  RetrySchedule<LineKey> retries;
  std::deque<LineKey> to_errors;  // given up on: to emit on the error stream
  Clock::time_point next_scan{};
  Clock::time_point next_commit{};
  std::chrono::milliseconds source_backoff{0};
  std::string last_source_error;

  Task(const Config& config, const Context& context, SpoutCollector& collector)
      : source(config.get_string("files.path", "")),
        pattern(config.get_string("files.pattern", "*")),
        error_stream(config.get_string("files.error.stream", "errors")),
        emit_position(config.get_bool("files.emit.position", false)),
        max_line_bytes(static_cast<std::size_t>(config.get_int("files.max.line.bytes", 0))),
        read_bytes(static_cast<std::size_t>(config.get_int("files.read.bytes", 0))),
        poll_interval(config.get_int("files.poll.interval.ms", 0)),
        commit_interval(config.get_int("files.commit.interval.ms", 0)),
        max_retries(config.get_int("files.retry.max", 0)),
        task_index(context.task_index()),
        tasks(context.component_tasks(context.component_id()).size()),
        offset_file(config.get_string("files.offsets.dir", ""), context.component_id(),
                    context.task_index()),
        out(&collector),
        retries(RetryPolicy{config.get_int("files.retry.max", 0),
                            std::chrono::milliseconds(config.get_int("files.retry.initial.ms", 0)),
                            std::chrono::milliseconds(config.get_int("files.retry.max.ms", 0))}) {
    const Value* pending = context.config().find(keys::topology_max_spout_pending);
    max_in_flight = static_cast<std::size_t>(
        pending != nullptr && pending->is_int() ? std::max<std::int64_t>(pending->as_int(), 1)
                                                : default_max_spout_pending);
    std::vector<std::string> problems;
    try {
      resumed = offset_file.load(problems);
    } catch (const std::exception& e) {
      // Every file then starts from its beginning; store() reports again until the directory
      // works, which loses nothing.
      problems.push_back(std::string("FileSpout: ") + e.what());
    }
    for (const std::string& problem : problems) out->report_error("FileSpout: " + problem);
  }

  void emit(const LineKey& key, const InFlight& line) {
    if (!line.reason.empty()) {
      out->emit_to(error_stream, {position_of(key), line.text, line.reason}, message_id(key));
    } else if (emit_position) {
      out->emit({line.text, std::get<0>(key), std::get<2>(key)}, message_id(key));
    } else {
      out->emit({line.text}, message_id(key));
    }
  }

  void next_tuple() {
    const Clock::time_point now = Clock::now();
    if (now >= next_scan) scan(now);
    int budget = k_emits_per_call;
    for (const LineKey& key : retries.due(now)) {
      const auto it = in_flight.find(key);
      if (it != in_flight.end()) emit(key, it->second);
      --budget;
    }
    while (!to_errors.empty()) {
      const auto it = in_flight.find(to_errors.front());
      if (it != in_flight.end()) emit(it->first, it->second);
      to_errors.pop_front();
      --budget;
    }
    while (budget > 0) {
      if (in_flight.size() >= max_in_flight || (ready.empty() && !read_some())) break;
      Ready next = std::move(ready.front());
      ready.pop_front();
      emit_new(std::move(next));
      --budget;
    }
    if (now >= next_commit) {
      commit();
      next_commit = now + commit_interval;
    }
  }

  void emit_new(Ready ready_line) {
    const auto file = open_files.find(ready_line.path);
    if (file == open_files.end() || file->second.generation != ready_line.generation) return;
    Line& line = ready_line.line;
    if (!file->second.tracker.emitted(line.offset, line.next)) return;  // already in flight
    LineKey key{std::move(ready_line.path), ready_line.generation, line.offset};
    InFlight held{line.next, std::move(line.text), {}};
    if (line.too_long) {
      held.reason = "line of " + std::to_string(line.length) +
                    " bytes is longer than files.max.line.bytes (" +
                    std::to_string(max_line_bytes) + "); record holds its first bytes";
    }
    const auto [it, inserted] = in_flight.emplace(std::move(key), std::move(held));
    emit(it->first, it->second);
  }

  // Reads one chunk from the next file that has new bytes. Returns whether it read any.
  bool read_some() {
    if (open_files.empty()) return false;
    auto it = open_files.lower_bound(next_to_read);
    std::vector<Line> lines;
    for (std::size_t tried = 0; tried < open_files.size(); ++tried, ++it) {
      if (it == open_files.end()) it = open_files.begin();
      Followed& followed = it->second;
      std::string error;
      const std::int64_t n = followed.file.read(read_bytes, lines, error);
      if (n < 0) {
        out->report_error("FileSpout: " + error);
        continue;
      }
      if (n == 0) continue;
      for (Line& line : lines) ready.push_back({it->first, followed.generation, std::move(line)});
      auto after = std::next(it);
      next_to_read = after == open_files.end() ? std::string() : after->first;
      return true;
    }
    return false;
  }

  // Looks for new files, and for followed files that were truncated, replaced or deleted.
  void scan(Clock::time_point now) {
    std::string error;
    const auto paths = files::list_source_files(source, pattern, error);
    if (!paths) {
      // Not there yet, or unreadable: report once per distinct problem, retry with backoff.
      if (error != last_source_error) out->report_error("FileSpout: " + error + "; retrying");
      last_source_error = error;
      source_backoff = std::min(std::max(source_backoff * 2, poll_interval), k_max_source_backoff);
      next_scan = now + source_backoff;
    } else {
      last_source_error.clear();
      source_backoff = std::chrono::milliseconds(0);
      next_scan = now + poll_interval;
      for (const std::string& path : *paths) {
        if (open_files.count(path) == 0 && files::owns(path, task_index, tasks)) start(path);
      }
    }
    for (auto it = open_files.begin(); it != open_files.end();) {
      Followed& followed = it->second;
      const FileChange change = followed.file.check();
      if (change != FileChange::none) restart(it->first, followed, change);
      // A deleted file read to its end with nothing in flight is done with.
      const bool gone = paths && std::find(paths->begin(), paths->end(), it->first) == paths->end();
      if (gone && !followed.file.has_unread() && followed.tracker.pending() == 0) {
        it = open_files.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Starts following `path` where the offset files say this topology stopped reading it.
  void start(const std::string& path) {
    std::string error;
    auto file = FollowedFile::open(path, max_line_bytes, error);
    if (!file) {
      out->report_error("FileSpout: " + error);
      return;
    }
    std::int64_t offset = 0;
    if (const auto entry = resumed.find(path); entry != resumed.end()) {
      if (!(entry->second.identity == file->identity())) {
        out->report_error("FileSpout: '" + path +
                          "' was replaced by another file since its offset was stored; reading "
                          "it from the beginning");
      } else if (entry->second.offset > file->size()) {
        out->report_error("FileSpout: '" + path + "' is shorter (" +
                          std::to_string(file->size()) + " bytes) than its stored offset " +
                          std::to_string(entry->second.offset) +
                          " (truncated); reading it from the beginning");
      } else {
        offset = entry->second.offset;
      }
      resumed.erase(entry);
    }
    file->seek(offset);
    open_files.emplace(path, Followed{std::move(*file), OffsetTracker(offset), 0});
  }

  // The file at `path` was truncated or replaced: read it again from its beginning. Lines of the
  // old content still in flight keep their keys (old generation): acked, they are forgotten;
  // failed, they are emitted again from memory.
  void restart(const std::string& path, Followed& followed, FileChange change) {
    if (change == FileChange::truncated) {
      out->report_error("FileSpout: '" + path + "' was truncated to " +
                        std::to_string(followed.file.size()) +
                        " bytes; reading it again from the beginning");
      followed.file.seek(0);
    } else {
      std::string error;
      auto fresh = FollowedFile::open(path, max_line_bytes, error);
      if (!fresh) {
        out->report_error("FileSpout: '" + path + "' was replaced and " + error);
        return;
      }
      out->report_error("FileSpout: '" + path +
                        "' was replaced by another file; reading the new one from the beginning");
      followed.file = std::move(*fresh);
      followed.file.seek(0);
    }
    ++followed.generation;
    followed.tracker.reset(0);
    std::erase_if(ready, [&](const Ready& r) { return r.path == path; });
  }

  void ack(const MessageId& id) {
    const auto key = key_of(id);
    if (!key) return;
    const auto it = in_flight.find(*key);
    if (it == in_flight.end()) return;
    in_flight.erase(it);
    retries.succeeded(*key);
    const auto file = open_files.find(std::get<0>(*key));
    if (file != open_files.end() && file->second.generation == std::get<1>(*key)) {
      file->second.tracker.done(std::get<2>(*key));
    }
  }

  void fail(const MessageId& id) {
    const auto key = key_of(id);
    if (!key) return;
    const auto it = in_flight.find(*key);
    if (it == in_flight.end()) return;
    const Clock::time_point now = Clock::now();
    if (retries.failed(*key, now)) return;  // emitted again when due
    if (!it->second.reason.empty()) {
      // The error stream's tuple failed: it is retried for as long as it takes, since giving up
      // on it would skip its position.
      (void)retries.failed(*key, now);
      return;
    }
    it->second.reason = "failed " + std::to_string(max_retries + 1) + " times (files.retry.max " +
                        std::to_string(max_retries) + ")";
    to_errors.push_back(*key);
  }

  // Checkpoint hook: where each followed file may resume (everything before is done), with the
  // positions of owned files not opened yet. commit() stores it; a checkpointing runtime would
  // take this at a barrier and store it once the checkpoint completes.
  CommittedOffsets snapshot() {
    CommittedOffsets positions;
    for (const auto& [path, entry] : resumed) {
      if (files::owns(path, task_index, tasks)) positions[path] = {entry.identity, entry.offset, 0};
    }
    for (auto& [path, followed] : open_files) {
      positions[path] = {followed.file.identity(), followed.tracker.committable(), 0};
    }
    return positions;
  }

  // Checkpoint hook: makes `positions` durable in this task's offset file. Reports (and keeps
  // the old file) when it cannot be written; the next commit tries again.
  void store(CommittedOffsets positions) {
    if (positions == stored) return;
    CommittedOffsets stamped = positions;
    const std::int64_t stamp = now_ms();
    for (auto& [path, entry] : stamped) entry.written_at_ms = stamp;
    try {
      offset_file.store(stamped);
    } catch (const std::exception& e) {
      out->report_error(std::string("FileSpout: cannot store offsets: ") + e.what());
      return;
    }
    stored = std::move(positions);
    for (auto& [path, followed] : open_files) {
      if (followed.tracker.has_commit()) followed.tracker.commit();
    }
  }

  void commit() { store(snapshot()); }
};

FileSpout::FileSpout(const Config& config) : config_(schema().resolve(config)) {
  if (config_.get_string("files.path", "").empty()) {
    throw ConfigError("FileSpout: config key 'files.path' must not be empty");
  }
  if (config_.get_string("files.offsets.dir", "").empty()) {
    throw ConfigError("FileSpout: config key 'files.offsets.dir' must not be empty");
  }
}

FileSpout::~FileSpout() = default;

ConfigSchema FileSpout::schema() {
  ConfigSchema schema("FileSpout");
  schema.required_string("files.path", "a file, or a directory whose files are read")
      .string("files.pattern", "*", "in a directory: glob that file names must match")
      .required_string("files.offsets.dir",
                       "directory of the offset files (one per task), created when missing")
      .string("files.error.stream", "errors",
              "stream of lines given up on: fields position, record, reason")
      .boolean("files.emit.position", false, "also emit fields file and offset after line")
      .integer("files.max.line.bytes", 1 << 20, 1, 1 << 30,
               "longer lines go to the error stream instead")
      .integer("files.read.bytes", 64 << 10, 1024, 64 << 20, "bytes read per next_tuple() at most")
      .integer("files.poll.interval.ms", 500, 1, 3'600'000,
               "how often new, truncated and replaced files are looked for")
      .integer("files.commit.interval.ms", 1000, 1, 3'600'000,
               "how often acked positions are stored in the offset file")
      .integer("files.retry.max", 10, -1, 1'000'000,
               "retries of a failed line before it goes to the error stream; -1: forever")
      .integer("files.retry.initial.ms", 100, 0, 3'600'000, "delay before the first retry")
      .integer("files.retry.max.ms", 10'000, 0, 3'600'000, "longest delay between retries");
  return schema;
}

void FileSpout::declare_outputs(OutputDeclarer& declarer) {
  if (config_.get_bool("files.emit.position", false)) {
    declarer.declare({"line", "file", "offset"});
  } else {
    declarer.declare({"line"});
  }
  declarer.declare_stream(config_.get_string("files.error.stream", "errors"),
                          {"position", "record", "reason"});
}

void FileSpout::open(const Context& context, SpoutCollector& out) {
  task_ = std::make_unique<Task>(config_, context, out);
}

void FileSpout::next_tuple() { task_->next_tuple(); }

void FileSpout::ack(const MessageId& id) { task_->ack(id); }

void FileSpout::fail(const MessageId& id) { task_->fail(id); }

void FileSpout::deactivate() { task_->commit(); }

void FileSpout::close() {
  if (task_) task_->commit();
}

}  // namespace gale::spouts
