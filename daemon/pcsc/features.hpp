#pragma once

#include <cstdint>
#include <map>
#include <span>

namespace tk::pcsc {

// PC/SC part 10 features a reader may offer through CM_IOCTL_GET_FEATURE_REQUEST.
inline constexpr std::uint8_t kFeatureVerifyPinDirect = 0x06;
inline constexpr std::uint8_t kFeatureModifyPinDirect = 0x07;
inline constexpr std::uint8_t kFeatureIfdPinProperties = 0x0A;
inline constexpr std::uint8_t kFeatureGetTlvProperties = 0x12;

// CM_IOCTL_GET_FEATURE_REQUEST = SCARD_CTL_CODE(3400) as pcsc-lite defines it.
inline constexpr std::uint32_t kGetFeatureRequest = 0x42000D48;

// Feature tag -> ioctl code to use with SCardControl.
using FeatureMap = std::map<std::uint8_t, std::uint32_t>;

// Reads the answer to CM_IOCTL_GET_FEATURE_REQUEST: a list of {tag u8, length u8 = 4,
// ioctl code u32 big-endian}. An entry whose length is not 4 is skipped; a truncated entry at
// the end is ignored. Readers are not trusted to be well-formed, but what they do say
// correctly is kept.
FeatureMap parseFeatureList(std::span<const std::uint8_t> tlv);

}  // namespace tk::pcsc
