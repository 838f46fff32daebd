# `cmake --install`: the public headers (include/troupe), the libraries, the
# troupe binary and a CMake package, so that an application writes
#   find_package(troupe REQUIRED)
#   target_link_libraries(app PRIVATE troupe::troupe)
# Only include/troupe is installed: the public headers include nothing else
# of troupe's.
include(CMakePackageConfigHelpers)

set(TROUPE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)

# troupe::troupe: everything an embedding application links.
add_library(troupe_engine INTERFACE)
target_link_libraries(troupe_engine INTERFACE troupe_cluster)
set_target_properties(troupe_engine PROPERTIES EXPORT_NAME troupe)
add_library(troupe::troupe ALIAS troupe_engine)

install(TARGETS troupe_engine troupe_cluster troupe_admin troupe_metrics
                troupe_actors troupe_config troupe_protocol troupe_store
                troupe_base
        EXPORT troupeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS troupe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/troupe DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT troupeTargets NAMESPACE troupe:: DESTINATION ${TROUPE_CMAKE_DIR})

configure_package_config_file(cmake/troupeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/troupeConfig.cmake
  INSTALL_DESTINATION ${TROUPE_CMAKE_DIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/troupeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/troupeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/troupeConfigVersion.cmake
              cmake/FindCAF.cmake
        DESTINATION ${TROUPE_CMAKE_DIR})
