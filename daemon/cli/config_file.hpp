#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

// The configuration-file seam: `tenderkey origins add|remove` edits the daemon's file in place,
// locked against a second editor and replaced atomically so that the daemon never reads half a
// file. CMake builds config_file_posix.cpp or config_file_windows.cpp.
namespace tk::cli {

class LockedConfigFile {
  public:
    // Opens `path` (a canonical path) and takes its edit lock, then reads it. ConfigBusy when
    // another editor holds the lock; FileError for anything else.
    explicit LockedConfigFile(const std::filesystem::path& path);
    ~LockedConfigFile();
    LockedConfigFile(const LockedConfigFile&) = delete;
    LockedConfigFile& operator=(const LockedConfigFile&) = delete;
    LockedConfigFile(LockedConfigFile&&) = delete;
    LockedConfigFile& operator=(LockedConfigFile&&) = delete;

    // The contents read under the lock.
    const std::string& text() const noexcept;

    // Writes `text` to a temporary file beside the original with the original's permissions,
    // flushes it to disk, calls `check` with the temporary file's path (an exception from it
    // leaves the original untouched and removes the temporary file), then replaces the original
    // in one step and makes the replacement durable. FileError when a step fails.
    void replace(const std::string& text,
                 const std::function<void(const std::string& temporaryPath)>& check);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tk::cli
