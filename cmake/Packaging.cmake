# Installation layout and the Debian package (cpack -G DEB). See docs/packaging.md.
# Only the component "tenderkey" goes into the package: tenderkeyd, tenderkey, the systemd
# units, the sysusers.d entry, the polkit rule, the configuration and the documentation.
# Test tools and the development card driver are never installed.
include(GNUInstallDirs)

set(TK_PACKAGE_COMPONENT tenderkey)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/tenderkeyd.service
              ${PROJECT_SOURCE_DIR}/systemd/tenderkeyd.socket
              ${PROJECT_SOURCE_DIR}/systemd/tenderkeyd-hipki.socket
        DESTINATION /lib/systemd/system COMPONENT ${TK_PACKAGE_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/user/tenderkeyd.service
        DESTINATION lib/systemd/user COMPONENT ${TK_PACKAGE_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/sysusers/tenderkey.conf
        DESTINATION lib/sysusers.d COMPONENT ${TK_PACKAGE_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/polkit/60-tenderkey-pcscd.rules
        DESTINATION share/polkit-1/rules.d COMPONENT ${TK_PACKAGE_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/daemon/service/tenderkeyd.example.toml
        DESTINATION /etc/tenderkey RENAME tenderkeyd.toml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT ${TK_PACKAGE_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/tenderkey
        COMPONENT ${TK_PACKAGE_COMPONENT})
# Debian wants the changelog of a native package as changelog.gz (gzip -9n: reproducible).
set(TK_DEBIAN_CHANGELOG ${PROJECT_BINARY_DIR}/debian/changelog.gz)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/debian)
execute_process(COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/cmake/debian/changelog
                OUTPUT_FILE ${TK_DEBIAN_CHANGELOG} RESULT_VARIABLE TK_GZIP_RESULT)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/cmake/debian/changelog)
if(TK_GZIP_RESULT EQUAL 0)
  install(FILES ${TK_DEBIAN_CHANGELOG} DESTINATION share/doc/tenderkey
          COMPONENT ${TK_PACKAGE_COMPONENT})
endif()
# The documentation for those who install and run it (not the developers' pages).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/tenderkey
        COMPONENT ${TK_PACKAGE_COMPONENT} FILES_MATCHING
        PATTERN "packaging.md" PATTERN "daemon.md" PATTERN "cli.md" PATTERN "install-*.md"
        PATTERN "troubleshooting.md" PATTERN "security.md" PATTERN "integrating.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tenderkey)
set(CPACK_PACKAGE_VENDOR "TenderKey")
set(CPACK_PACKAGE_CONTACT "TenderKey maintainers <maintainers@tenderkey.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${TK_PACKAGE_COMPONENT})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_NAME tenderkey)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tenderkeyd lets allow-listed web pages use the PIV smart card in a PC/SC reader\n(sign, decrypt, register) over a WebSocket API on loopback; tenderkey is the\ncommand-line tool for the same cards.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the system user when systemd-sysusers is not there. publicsuffix: the Public Suffix
# List libpsl reads (libpsl5 only recommends it), current with the OS rather than with the
# libpsl build; shlibdeps adds libpsl5 itself.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, publicsuffix")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pcscd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
    ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
include(CPack)
