# Installs the protocol library and the publisher SDK as a CMake package:
#   find_package(ProgressBridge CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE progress::publisher)
include(CMakePackageConfigHelpers)
set(PROGRESS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ProgressBridge)
install(EXPORT ProgressBridgeTargets NAMESPACE progress:: DESTINATION ${PROGRESS_CMAKE_DIR})
configure_package_config_file(cmake/ProgressBridgeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ProgressBridgeConfig.cmake
  INSTALL_DESTINATION ${PROGRESS_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ProgressBridgeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ProgressBridgeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/ProgressBridgeConfigVersion.cmake
        DESTINATION ${PROGRESS_CMAKE_DIR})
