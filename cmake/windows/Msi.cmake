# The Windows deliverables: the executables Authenticode-signed, and the MSI (wixl, from
# windows-service/msi/TenderKey.wxs) signed too — target tk_windows_msi, built by the
# `windows` build preset. Output in build-windows/msi/:
#   tenderkeyd.exe tenderkeyd-service.exe tenderkey.exe   signed copies (what the MSI holds)
#   TenderKey-<version>-x64.msi
#
# Signing: TK_SIGN_CERT and TK_SIGN_KEY (PEM; TK_SIGN_KEY_PASSWORD in the environment when
# the key is encrypted) for a real code-signing certificate, TK_SIGN_TIMESTAMP_URL for its
# countersignature. Without them the build makes a self-signed test certificate of its own
# in build-windows/signing/ (never in the source tree), and the windows.* tests verify
# against it.
find_program(TK_WIXL wixl REQUIRED)
find_program(TK_OSSLSIGNCODE osslsigncode REQUIRED)
find_program(TK_OPENSSL_CLI openssl REQUIRED)

set(TK_SIGN_CERT "" CACHE FILEPATH "Authenticode certificate chain (PEM); empty: a test certificate")
set(TK_SIGN_KEY "" CACHE FILEPATH "Private key of TK_SIGN_CERT (PEM)")
set(TK_SIGN_TIMESTAMP_URL "" CACHE STRING "RFC 3161 time-stamping service for the signatures")

set(TK_MSI_DIR ${CMAKE_BINARY_DIR}/msi)
set(TK_SIGNING_DIR ${CMAKE_BINARY_DIR}/signing)
if(TK_SIGN_CERT)
  set(TK_SIGNING_CERT ${TK_SIGN_CERT})
  set(TK_SIGNING_KEY ${TK_SIGN_KEY})
  set(TK_SIGNING_DEPENDS)
else()
  set(TK_SIGNING_CERT ${TK_SIGNING_DIR}/test-codesign.crt)
  set(TK_SIGNING_KEY ${TK_SIGNING_DIR}/test-codesign.key)
  add_custom_command(
    OUTPUT ${TK_SIGNING_CERT} ${TK_SIGNING_KEY}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TK_SIGNING_DIR}
    COMMAND ${TK_OPENSSL_CLI} req -x509 -newkey rsa:3072 -sha256 -nodes -days 30
            -subj "/CN=TenderKey test code signing (not trusted)"
            -addext "keyUsage=critical,digitalSignature"
            -addext "extendedKeyUsage=codeSigning"
            -keyout ${TK_SIGNING_KEY} -out ${TK_SIGNING_CERT}
    COMMAND chmod 600 ${TK_SIGNING_KEY}
    COMMENT "Making a test code-signing certificate (build-windows/signing/)"
    VERBATIM)
  set(TK_SIGNING_DEPENDS ${TK_SIGNING_CERT} ${TK_SIGNING_KEY})
endif()

set(TK_SIGN ${CMAKE_CURRENT_LIST_DIR}/sign.sh ${TK_SIGNING_CERT} ${TK_SIGNING_KEY})
set(TK_SIGNED_EXES)
foreach(target tenderkeyd tenderkeyd-service tenderkey)
  add_custom_command(
    OUTPUT ${TK_MSI_DIR}/${target}.exe
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TK_MSI_DIR}
    COMMAND ${TK_SIGN} $<TARGET_FILE:${target}> ${TK_MSI_DIR}/${target}.exe ${TK_SIGN_TIMESTAMP_URL}
    DEPENDS ${target} ${TK_SIGNING_DEPENDS} ${CMAKE_CURRENT_LIST_DIR}/sign.sh
    COMMENT "Signing ${target}.exe"
    VERBATIM)
  list(APPEND TK_SIGNED_EXES ${TK_MSI_DIR}/${target}.exe)
endforeach()

set(TK_MSI ${TK_MSI_DIR}/TenderKey-${PROJECT_VERSION}-x64.msi)
set(TK_MSI_SOURCE ${PROJECT_SOURCE_DIR}/windows-service/msi/TenderKey.wxs)
set(TK_MSI_CONFIG ${PROJECT_SOURCE_DIR}/daemon/service/tenderkeyd.example.toml)
# wixl takes the files' Source paths relative to where it runs: everything is in msi/.
add_custom_command(
  OUTPUT ${TK_MSI}
  COMMAND ${CMAKE_COMMAND} -E copy ${TK_MSI_CONFIG} ${TK_MSI_DIR}/tenderkeyd.example.toml
  COMMAND ${TK_WIXL} -a x64 -D Version=${PROJECT_VERSION} -D BinDir=.
          -D ConfigFile=tenderkeyd.example.toml -o unsigned.msi ${TK_MSI_SOURCE}
  COMMAND ${TK_SIGN} unsigned.msi ${TK_MSI} ${TK_SIGN_TIMESTAMP_URL}
  COMMAND ${CMAKE_COMMAND} -E remove unsigned.msi
  WORKING_DIRECTORY ${TK_MSI_DIR}
  DEPENDS ${TK_SIGNED_EXES} ${TK_MSI_SOURCE} ${TK_MSI_CONFIG} ${TK_SIGNING_DEPENDS}
  COMMENT "Building and signing TenderKey-${PROJECT_VERSION}-x64.msi (wixl)"
  VERBATIM)
add_custom_target(tk_windows_msi ALL DEPENDS ${TK_MSI})
