#include "service/hipki/status_image.hpp"

#include <cstdint>

#include <nlohmann/json.hpp>

namespace tk::service::hipki {
namespace {

void putLittleEndian(std::string& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
}

}  // namespace

std::string statusImage(std::string_view serverVersion) {
    std::string text =
        nlohmann::json{{"ret_code", 0}, {"serverVersion", std::string(serverVersion)}}.dump();
    // Whitespace after a JSON text is allowed: the pages' JSON.parse reads it as is.
    while (text.size() % 3 != 0) {
        text.push_back(' ');
    }
    const std::uint32_t width = static_cast<std::uint32_t>(text.size() / 3 + 1);  // + the end
    const std::uint32_t rowBytes = (width * 3 + 3) / 4 * 4;  // rows are padded to 4 bytes
    constexpr std::uint32_t kHeaderBytes = 14 + 40;

    std::string image;
    image.reserve(kHeaderBytes + rowBytes);
    // BITMAPFILEHEADER
    image += "BM";
    putLittleEndian(image, kHeaderBytes + rowBytes, 4);
    putLittleEndian(image, 0, 4);  // reserved
    putLittleEndian(image, kHeaderBytes, 4);
    // BITMAPINFOHEADER: width x 1, one plane, 24 bits, uncompressed.
    putLittleEndian(image, 40, 4);
    putLittleEndian(image, width, 4);
    putLittleEndian(image, 1, 4);
    putLittleEndian(image, 1, 2);
    putLittleEndian(image, 24, 2);
    putLittleEndian(image, 0, 4);  // BI_RGB
    putLittleEndian(image, rowBytes, 4);
    putLittleEndian(image, 2835, 4);  // 72 dpi
    putLittleEndian(image, 2835, 4);
    putLittleEndian(image, 0, 4);
    putLittleEndian(image, 0, 4);
    // The one row: the text's bytes as blue, green, red of each pixel, then the black end
    // pixel and the row's padding.
    image += text;
    image.append(rowBytes - text.size(), '\0');
    return image;
}

}  // namespace tk::service::hipki
