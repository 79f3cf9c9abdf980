#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace tk::server {

namespace detail {
// One file of daemon/server/pages/, compiled in by cmake/EmbedFiles.cmake.
struct EmbeddedFile {
    const char* name;  // "bridge.html"
    const unsigned char* data;
    std::size_t size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;
}  // namespace detail

// A static page the daemon serves. Its bytes live as long as the program.
struct Page {
    std::string_view path;         // "/bridge", "/bridge.js", "/bridge.css"
    std::string_view contentType;  // "text/html; charset=utf-8", ...
    std::string_view body;
};

// Every page: an HTML file is served at its name without ".html", any other file at its name.
std::span<const Page> pages() noexcept;

// The page served at `path` (the request path without query); nullptr when there is none.
const Page* findPage(std::string_view path) noexcept;

}  // namespace tk::server
