// Who may write tenderkeyd's configuration and state on Windows (main/access_policy.hpp): the
// decision the service makes at every start on what GetNamedSecurityInfo reports.
#include <gtest/gtest.h>

#include "main/access_policy.hpp"

namespace {

using namespace tk::daemon;

constexpr std::uint32_t kFullControl = 0x1F01FF;
constexpr std::uint32_t kReadExecute = 0x1200A9;
constexpr std::uint32_t kModify = 0x1301BF;
constexpr const char* kUsers = "S-1-5-32-545";
constexpr const char* kCreatorOwner = "S-1-3-0";
constexpr const char* kAuthenticatedUsers = "S-1-5-11";

// The access list the install step gives %ProgramData%\TenderKey.
SecurityInfo installedConfig() {
    return {kSidAdministrators,
            true,
            {{kSidSystem, true, kFullControl},
             {kSidAdministrators, true, kFullControl},
             {kUsers, true, kReadExecute}}};
}

TEST(AccessPolicy, InstalledConfigFolder_IsAccepted) {
    EXPECT_EQ(untrustedWriter(installedConfig(), false), std::nullopt);
}

TEST(AccessPolicy, UsersMayWrite_IsRefusedNamingThem) {
    SecurityInfo info = installedConfig();
    info.dacl.push_back({kUsers, true, 0x2});  // FILE_WRITE_DATA / FILE_ADD_FILE
    const auto problem = untrustedWriter(info, false);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, std::string(kUsers) + " may write it");
}

// %ProgramData%'s default: Users may create files and folders, CREATOR OWNER gets full
// control of what they create.
TEST(AccessPolicy, ProgramDataDefaults_AreRefused) {
    SecurityInfo info{kSidSystem,
                      true,
                      {{kSidSystem, true, kFullControl},
                       {kSidAdministrators, true, kFullControl},
                       {kCreatorOwner, true, 0x10000000},
                       {kUsers, true, kReadExecute},
                       {kUsers, true, 0x6}}};
    EXPECT_TRUE(untrustedWriter(info, false));
    info.dacl.pop_back();
    const auto problem = untrustedWriter(info, false);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, std::string(kCreatorOwner) + " may write it");
}

TEST(AccessPolicy, EveryWriteRight_IsCaught) {
    for (const std::uint32_t right : {0x2U, 0x4U, 0x10U, 0x40U, 0x100U, 0x10000U, 0x40000U,
                                      0x80000U, 0x40000000U, 0x10000000U}) {
        SecurityInfo info = installedConfig();
        info.dacl.push_back({kAuthenticatedUsers, true, right});
        EXPECT_TRUE(untrustedWriter(info, false)) << std::hex << right;
    }
}

// Windows' own service SIDs: TrustedInstaller's is well known.
TEST(AccessPolicy, ServiceSid_MatchesWindowsDerivation) {
    EXPECT_EQ(serviceSid("TrustedInstaller"), kSidTrustedInstaller);
    EXPECT_EQ(serviceSid("trustedinstaller"), kSidTrustedInstaller);
    EXPECT_EQ(serviceSid(kServiceName).rfind("S-1-5-80-", 0), 0U);
}

TEST(AccessPolicy, Service_MayWriteStateButNotConfiguration) {
    const std::string service = serviceSid(kServiceName);
    SecurityInfo info = installedConfig();
    info.dacl.push_back({service, true, kModify});
    EXPECT_EQ(untrustedWriter(info, true), std::nullopt);
    const auto problem = untrustedWriter(info, false);
    ASSERT_TRUE(problem);
    EXPECT_EQ(*problem, service + " may write it");
}

// LocalService is shared by many services: the account alone is not the service.
TEST(AccessPolicy, LocalServiceAccount_MayNotWriteState) {
    SecurityInfo info = installedConfig();
    info.dacl.push_back({kSidLocalService, true, kModify});
    EXPECT_TRUE(untrustedWriter(info, true));
}

TEST(AccessPolicy, OwnedByAUser_IsRefused) {
    SecurityInfo info = installedConfig();
    info.ownerSid = "S-1-5-21-1-2-3-1001";
    const auto problem = untrustedWriter(info, false);
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find("owned by S-1-5-21-1-2-3-1001"), std::string::npos);
    info.ownerSid = kSidLocalService;  // the service may write state, never own it
    EXPECT_TRUE(untrustedWriter(info, true));
}

TEST(AccessPolicy, NullDacl_IsRefused) {
    SecurityInfo info = installedConfig();
    info.hasDacl = false;
    info.dacl.clear();
    EXPECT_TRUE(untrustedWriter(info, true));
}

TEST(AccessPolicy, DenyEntries_DoNotExcuseAGrant) {
    SecurityInfo info = installedConfig();
    info.dacl.insert(info.dacl.begin(), {kUsers, false, kFullControl});
    EXPECT_EQ(untrustedWriter(info, false), std::nullopt);
    info.dacl.push_back({kUsers, true, 0x2});
    EXPECT_TRUE(untrustedWriter(info, false));
}

TEST(AccessPolicy, TrustedInstaller_IsTrusted) {
    SecurityInfo info = installedConfig();
    info.ownerSid = kSidTrustedInstaller;
    info.dacl.push_back({kSidTrustedInstaller, true, kFullControl});
    EXPECT_EQ(untrustedWriter(info, false), std::nullopt);
}

}  // namespace
