#include "spouts/files/followed_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "spouts/files/durable_io.hpp"

namespace gale::spouts::files {

std::optional<FollowedFile> FollowedFile::open(const std::string& path,
                                               std::size_t max_line_bytes, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = errno_message("cannot open", path);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = errno_message("cannot stat", path);
    ::close(fd);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "'" + path + "' is not a regular file";
    ::close(fd);
    return std::nullopt;
  }
  return FollowedFile(path, fd, FileIdentity{st.st_dev, st.st_ino}, max_line_bytes);
}

FollowedFile::FollowedFile(std::string path, int fd, FileIdentity identity,
                           std::size_t max_line_bytes)
    : path_(std::move(path)), fd_(fd), identity_(identity), splitter_(0, max_line_bytes) {}

FollowedFile::FollowedFile(FollowedFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      identity_(other.identity_),
      read_position_(other.read_position_),
      splitter_(std::move(other.splitter_)),
      buffer_(std::move(other.buffer_)) {}

FollowedFile& FollowedFile::operator=(FollowedFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    identity_ = other.identity_;
    read_position_ = other.read_position_;
    splitter_ = std::move(other.splitter_);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

FollowedFile::~FollowedFile() {
  if (fd_ >= 0) ::close(fd_);
}

void FollowedFile::seek(std::int64_t offset) {
  read_position_ = offset;
  splitter_.reset(offset);
}

std::int64_t FollowedFile::read(std::size_t max_bytes, std::vector<Line>& out, std::string& error) {
  buffer_.resize(max_bytes);
  ssize_t n;
  do {
    n = ::pread(fd_, buffer_.data(), max_bytes, read_position_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    error = errno_message("cannot read", path_);
    return -1;
  }
  read_position_ += n;
  splitter_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(n)), out);
  return n;
}

std::int64_t FollowedFile::size() const {
  struct stat st {};
  return ::fstat(fd_, &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

bool FollowedFile::has_unread() const { return size() > read_position_; }

FileChange FollowedFile::check() const {
  if (size() < read_position_) return FileChange::truncated;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return FileChange::none;  // gone: keep what is open
  if (FileIdentity{st.st_dev, st.st_ino} == identity_) return FileChange::none;
  return has_unread() ? FileChange::none : FileChange::replaced;
}

}  // namespace gale::spouts::files
