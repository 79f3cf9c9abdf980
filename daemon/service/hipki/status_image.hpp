#pragma once

#include <string>
#include <string_view>

namespace tk::service::hipki {

// /p11Image.bmp: the vendor's pages learn whether the component runs, and its version, by
// drawing this image on a canvas and reading its pixels back. The image is a 24-bit BMP one
// pixel high whose pixel bytes, in file order (blue, green, red per pixel), are the bytes of the
// JSON text {"ret_code":0,"serverVersion":V}; the text is padded with spaces to whole pixels and
// ended by a black pixel, where the pages stop reading (a page reading the file as text stops
// at the first zero byte after the 54-byte header).
//
// It carries nothing else, ever: a page of any origin may read it (the pages load it with
// crossOrigin), so it is the same bytes for every caller and never card data.
std::string statusImage(std::string_view serverVersion);

}  // namespace tk::service::hipki
