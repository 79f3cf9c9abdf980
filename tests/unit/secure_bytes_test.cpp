#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "card/secure_bytes.hpp"

namespace tk::card {
namespace {

// Records, at the moment storage is handed back, whether every byte of it was zero.
struct Observations {
    int deallocations = 0;
    int wipedDeallocations = 0;
};

template <class T>
struct ObservingAllocator {
    using value_type = T;
    Observations* observations;

    explicit ObservingAllocator(Observations* o) : observations(o) {}
    template <class U>
    ObservingAllocator(const ObservingAllocator<U>& other) : observations(other.observations) {}

    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) {
        ++observations->deallocations;
        bool zero = true;
        for (std::size_t i = 0; i < n; ++i) {
            zero = zero && p[i] == 0;
        }
        if (zero) {
            ++observations->wipedDeallocations;
        }
        std::allocator<T>().deallocate(p, n);
    }
    bool operator==(const ObservingAllocator&) const = default;
};

using ObservedSecureBytes = BasicSecureBytes<ObservingAllocator<std::uint8_t>>;

TEST(SecureBytes, Destruction_WipesBeforeRelease) {
    Observations o;
    {
        ObservedSecureBytes pin =
            ObservedSecureBytes::fromText("123456", ObservingAllocator<std::uint8_t>(&o));
        ASSERT_EQ(pin.size(), 6u);
        EXPECT_EQ(pin[0], '1');
    }
    EXPECT_EQ(o.deallocations, 1);
    EXPECT_EQ(o.wipedDeallocations, 1);
}

TEST(SecureBytes, MoveAssignment_WipesOverwrittenBuffer) {
    Observations o;
    ObservingAllocator<std::uint8_t> a(&o);
    ObservedSecureBytes first = ObservedSecureBytes::fromText("11111111", a);
    ObservedSecureBytes second = ObservedSecureBytes::fromText("22222222", a);
    first = std::move(second);
    EXPECT_EQ(o.deallocations, 1);
    EXPECT_EQ(o.wipedDeallocations, 1);
    EXPECT_EQ(first[0], '2');
    EXPECT_TRUE(second.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

TEST(SecureBytes, MoveConstruction_HandsStorageOverWithoutCopy) {
    Observations o;
    ObservedSecureBytes a =
        ObservedSecureBytes::fromText("secret", ObservingAllocator<std::uint8_t>(&o));
    const std::uint8_t* storage = a.data();
    ObservedSecureBytes b(std::move(a));
    EXPECT_EQ(b.data(), storage);
    EXPECT_EQ(o.deallocations, 0);
}

TEST(SecureBytes, ExplicitWipe_ZerosContentsKeepsSize) {
    SecureBytes s = SecureBytes::fromText("12345678");
    s.wipe();
    ASSERT_EQ(s.size(), 8u);
    for (const auto b : s) {
        EXPECT_EQ(b, 0);
    }
}

TEST(SecureBytes, ConstructFromBytes_Copies) {
    const std::vector<std::uint8_t> source = {1, 2, 3};
    const SecureBytes s(source);
    EXPECT_EQ(std::vector<std::uint8_t>(s.begin(), s.end()), source);
    EXPECT_NE(s.data(), source.data());
}

TEST(SecureBytes, EmptyBuffer_NoAllocation) {
    Observations o;
    { ObservedSecureBytes s(0, ObservingAllocator<std::uint8_t>(&o)); }
    EXPECT_EQ(o.deallocations, 0);
}

TEST(SecureWipe, WipeOnExit_ZerosVector) {
    std::vector<std::uint8_t> v = {9, 9, 9};
    { const WipeOnExit w(v); }
    EXPECT_EQ(v, (std::vector<std::uint8_t>{0, 0, 0}));
}

#if defined(__linux__)
// The VmFlags of the mapping holding `address` (/proc/self/smaps), nullopt when none does.
std::optional<std::string> vmFlagsAt(const void* address) {
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        const auto dash = line.find('-');
        const auto space = line.find(' ');
        if (dash != std::string::npos && space != std::string::npos && dash < space &&
            line.find(':') > space) {
            const auto start = std::stoull(line.substr(0, dash), nullptr, 16);
            const auto end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
            inside = at >= start && at < end;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line.substr(8);
        }
    }
    return std::nullopt;
}

TEST(SecretAllocator, SecureBytesLiveInPagesLeftOutOfCoreDumps) {
    const SecureBytes pin = SecureBytes::fromText("123456");
    const auto flags = vmFlagsAt(pin.data());
    ASSERT_TRUE(flags.has_value());
    std::istringstream words(*flags);
    bool dontDump = false;
    for (std::string word; words >> word;) {
        dontDump = dontDump || word == "dd";
    }
    EXPECT_TRUE(dontDump) << "VmFlags:" << *flags;
}

TEST(SecretAllocator, ReleasedPagesAreUnmapped) {
    const void* address = nullptr;
    {
        std::basic_string<char, std::char_traits<char>, SecretAllocator<char>> text(5000, 'p');
        address = text.data();
        EXPECT_TRUE(vmFlagsAt(address).has_value());
    }
    EXPECT_FALSE(vmFlagsAt(address).has_value());
}
#endif

}  // namespace
}  // namespace tk::card
