#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tk::service::state {

// The state directory cannot be used: it or one of its documents is writable by someone other
// than the daemon's user, belongs to another user, or cannot be read or written. The message
// names the path and what is wrong.
class StateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Where the daemon keeps what it learns between runs, in this order:
//  1. $STATE_DIRECTORY (set by systemd's StateDirectory=; the first entry of a colon list),
//  2. `configured` (the configuration's state_directory),
//  3. /var/lib/tenderkey when running as root,
//  4. $XDG_STATE_HOME/tenderkey, else ~/.local/state/tenderkey.
// Throws StateError when none of them can be formed (no HOME for a non-root user).
std::filesystem::path resolveStateDirectory(const std::optional<std::string>& configured);

// A small store of named documents in one directory, readable and writable by the daemon's
// user only: the directory is 0700, every document 0600. A write replaces the whole document
// atomically (a temporary file, fsync, rename, fsync of the directory), so a crash leaves the
// old or the new text, never a mix. Anything that another user could have changed is refused:
// the directory or a document writable by group or others, or owned by another user.
//
// A document name is 1-64 characters of [a-z0-9._-], not starting with a dot (temporary files
// start with one). Safe to use from several threads; writers of the same document are
// serialised by the caller (last rename wins).
class StateDirectory {
  public:
    // Opens `path`, creating it (and missing parents) with mode 0700 when it does not exist.
    // Throws StateError when it is not a directory, belongs to another user, or is writable by
    // group or others.
    static StateDirectory open(const std::filesystem::path& path);

    const std::filesystem::path& path() const noexcept { return path_; }

    // The text of document `name`, or nullopt when there is none. Throws StateError for a
    // document that is not a regular file, belongs to another user, or is writable by group or
    // others, and for a read error.
    std::optional<std::string> read(std::string_view name) const;

    // Replaces document `name` with `contents` (mode 0600), atomically. Throws StateError.
    void write(std::string_view name, std::string_view contents) const;

  private:
    explicit StateDirectory(std::filesystem::path path) : path_(std::move(path)) {}

    std::filesystem::path path_;
};

// Throws std::invalid_argument for a name outside the rule above.
void checkDocumentName(std::string_view name);

}  // namespace tk::service::state
