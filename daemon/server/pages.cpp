#include "server/pages.hpp"

#include <string>
#include <vector>

namespace tk::server {
namespace {

std::string_view contentTypeOf(std::string_view name) {
    if (name.ends_with(".html") || name.ends_with(".htm")) {
        return "text/html; charset=utf-8";
    }
    if (name.ends_with(".js")) {
        return "text/javascript; charset=utf-8";
    }
    if (name.ends_with(".css")) {
        return "text/css; charset=utf-8";
    }
    return "application/octet-stream";
}

struct PageTable {
    std::vector<std::string> paths;
    std::vector<Page> pages;

    PageTable() {
        const std::span files(detail::kEmbeddedFiles, detail::kEmbeddedFileCount);
        paths.reserve(files.size());  // no reallocation: pages point into these strings
        for (const auto& file : files) {
            std::string_view name(file.name);
            if (name.ends_with(".html")) {
                name.remove_suffix(5);
            }
            paths.push_back("/" + std::string(name));
            pages.push_back({paths.back(),
                             contentTypeOf(file.name),
                             {reinterpret_cast<const char*>(file.data), file.size}});
        }
    }
};

const PageTable& table() {
    static const PageTable instance;
    return instance;
}

}  // namespace

std::span<const Page> pages() noexcept {
    return table().pages;
}

const Page* findPage(std::string_view path) noexcept {
    for (const Page& page : table().pages) {
        if (page.path == path) {
            return &page;
        }
    }
    return nullptr;
}

}  // namespace tk::server
