# Debian packages of the bridge and of the broker's configuration, built with
#   cmake --build build --target package      (or: cd build && cpack -G DEB)
#
#   progress-bridge                 progress-bridge (the dashboard built in), progress-publish,
#                                   the systemd unit and its environment file
#   progress-bridge-broker-config   broker-config/ for Debian's Mosquitto: the configuration
#                                   (in conf.d/), the ACL and progress-user
#
# Only these two install components are packaged; the SDK's headers and CMake
# package (`cmake --install`) are not. The files below belong to the packages only
# (EXCLUDE_FROM_ALL): `cmake --install` never writes to /etc.
set(debian_dir ${PROJECT_SOURCE_DIR}/packaging/debian)

if(PROGRESS_BUILD_BRIDGE)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/progress-bridge.service
          DESTINATION lib/systemd/system COMPONENT bridge EXCLUDE_FROM_ALL)
  # Holds secrets: readable by root only (systemd reads it before dropping privileges).
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/progress-bridge.env DESTINATION /etc/progress-bridge
          PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT bridge EXCLUDE_FROM_ALL)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/progress-bridge
          RENAME copyright COMPONENT bridge EXCLUDE_FROM_ALL)
endif()

# Debian's own /etc/mosquitto/mosquitto.conf sets persistence (with the same values as ours)
# and includes conf.d/, where Mosquitto refuses a second persistence_location: the
# packaged copy of broker-config/mosquitto.conf leaves those lines to Debian's file.
set(broker_conf_source ${PROJECT_SOURCE_DIR}/broker-config/mosquitto.conf)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${broker_conf_source})
file(READ ${broker_conf_source} broker_conf)
string(REGEX REPLACE "\n(persistence|persistence_location) ([^\n]*)"
       "\n# \\1 \\2: set by Debian's /etc/mosquitto/mosquitto.conf" debian_broker_conf "${broker_conf}")
string(REGEX MATCHALL "set by Debian's" left_to_debian "${debian_broker_conf}")
list(LENGTH left_to_debian left_to_debian)
if(NOT left_to_debian EQUAL 2)
  message(FATAL_ERROR "broker-config/mosquitto.conf: expected one persistence and one persistence_location line")
endif()
set(debian_broker_conf_file ${PROJECT_BINARY_DIR}/packaging/progress.conf)
file(CONFIGURE OUTPUT ${debian_broker_conf_file} @ONLY CONTENT
     "# broker-config/mosquitto.conf of Progress Bridge, as installed by progress-bridge-broker-config.\n@debian_broker_conf@")
install(FILES ${debian_broker_conf_file} DESTINATION /etc/mosquitto/conf.d COMPONENT broker_config EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/broker-config/acl DESTINATION /etc/mosquitto/progress COMPONENT broker_config EXCLUDE_FROM_ALL)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/broker-config/progress-user DESTINATION bin COMPONENT broker_config EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/progress-bridge-broker-config
        RENAME copyright COMPONENT broker_config EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME progress-bridge)
set(CPACK_PACKAGE_VENDOR "Progress Bridge")
# CPack puts this summary before each component's description unless it is CPack's own
# default: so each package's description gives its own first line as the summary.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGE_CONTACT "Progress Bridge maintainers <progress-bridge@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL broker_config)
if(PROGRESS_BUILD_BRIDGE)
  list(PREPEND CPACK_COMPONENTS_ALL bridge)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME progress-bridge)
set(CPACK_COMPONENT_BRIDGE_DESCRIPTION "Live progress of background jobs over MQTT, served to web frontends
progress-bridge follows the job states workers publish to Mosquitto and serves them
over REST, WebSocket and SSE with JWT auth, with its dashboard built in. Includes
the progress-publish CLI and a hardened systemd unit.")
set(CPACK_DEBIAN_BRIDGE_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_BRIDGE_PACKAGE_SUGGESTS progress-bridge-broker-config)
set(CPACK_DEBIAN_BRIDGE_PACKAGE_CONTROL_EXTRA
    ${debian_dir}/progress-bridge/conffiles ${debian_dir}/progress-bridge/postinst
    ${debian_dir}/progress-bridge/prerm ${debian_dir}/progress-bridge/postrm)

set(CPACK_DEBIAN_BROKER_CONFIG_PACKAGE_NAME progress-bridge-broker-config)
set(CPACK_COMPONENT_BROKER_CONFIG_DESCRIPTION "Mosquitto configuration for Progress Bridge
No anonymous access, per-user topic ACLs and bounded queues for Debian's Mosquitto,
and progress-user, which creates accounts with safe names.")
set(CPACK_DEBIAN_BROKER_CONFIG_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_BROKER_CONFIG_PACKAGE_DEPENDS "mosquitto (>= 2.0)")
set(CPACK_DEBIAN_BROKER_CONFIG_PACKAGE_CONTROL_EXTRA
    ${debian_dir}/progress-bridge-broker-config/conffiles ${debian_dir}/progress-bridge-broker-config/postinst
    ${debian_dir}/progress-bridge-broker-config/postrm)

include(CPack)
