// /p11Image.bmp: a 24-bit BMP one pixel high whose pixel bytes are the status JSON, read the way
// the vendor's pages read it (blue, green, red of each pixel until a pixel with no blue; or the
// file as text from byte 54 to the first zero byte).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "service/hipki/status_image.hpp"

namespace tk::test {
namespace {

std::uint32_t le(const std::string& bytes, std::size_t at, int size) {
    std::uint32_t value = 0;
    for (int i = size - 1; i >= 0; --i) {
        value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
}

// What a page drawing the image on a canvas reads: per pixel (in canvas RGBA order r, g, b),
// the characters b, g, r, until a pixel whose blue is 0.
std::string readAsCanvas(const std::string& image) {
    const std::uint32_t width = le(image, 18, 4);
    const std::uint32_t offset = le(image, 10, 4);
    std::string text;
    for (std::uint32_t x = 0; x < width; ++x) {
        const std::size_t at = offset + 3 * x;  // file order: blue, green, red
        const char blue = image[at];
        const char green = image[at + 1];
        const char red = image[at + 2];
        if (blue == 0) {
            break;
        }
        text += blue;
        text += green;
        text += red;
    }
    return text;
}

TEST(HipkiStatusImage, WellFormedBmpOnePixelHigh) {
    const std::string image = service::hipki::statusImage("1.3.4.103328");
    ASSERT_GE(image.size(), 54u);
    EXPECT_EQ(image.substr(0, 2), "BM");
    EXPECT_EQ(le(image, 2, 4), image.size());
    EXPECT_EQ(le(image, 10, 4), 54u);
    EXPECT_EQ(le(image, 14, 4), 40u);
    EXPECT_EQ(le(image, 22, 4), 1u);   // height
    EXPECT_EQ(le(image, 26, 2), 1u);   // planes
    EXPECT_EQ(le(image, 28, 2), 24u);  // bits per pixel
    EXPECT_EQ(le(image, 30, 4), 0u);   // uncompressed
    const std::uint32_t width = le(image, 18, 4);
    const std::uint32_t row = (width * 3 + 3) / 4 * 4;
    EXPECT_EQ(image.size(), 54u + row);
    EXPECT_EQ(le(image, 34, 4), row);
    // The last pixel is black: the pages stop there.
    EXPECT_EQ(image.substr(54 + 3 * (width - 1), 3), std::string(3, '\0'));
}

TEST(HipkiStatusImage, PixelsHoldOnlyTheStatusJson_ReadEitherWay) {
    for (const std::string version : {"1.3.4.103328", "1.3.4.9", "2", "1.3.4.1033280"}) {
        const std::string image = service::hipki::statusImage(version);
        const std::string canvas = readAsCanvas(image);
        EXPECT_EQ(nlohmann::json::parse(canvas),
                  (nlohmann::json{{"ret_code", 0}, {"serverVersion", version}}))
            << version;
        EXPECT_EQ(canvas.find_first_not_of(' ', canvas.find('}') + 1), std::string::npos);
        const std::string text = image.substr(54, image.find('\0', 54) - 54);
        EXPECT_EQ(text, canvas) << version;
        EXPECT_EQ(service::hipki::statusImage(version), image) << "the same bytes every time";
    }
}

}  // namespace
}  // namespace tk::test
