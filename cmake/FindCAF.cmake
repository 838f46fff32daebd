# FindCAF.cmake: Debian's libcaf-dev (0.17.6) ships neither a CMake package
# nor a pkg-config file.
#
#   find_package(CAF 0.17 REQUIRED COMPONENTS core io)
#
# defines the IMPORTED targets CAF::core and CAF::io (the names CAF >= 0.18
# exports itself, so link lines survive an upgrade), CAF_VERSION and
# CAF_INCLUDE_DIR.
find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp)
if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE "^#define CAF_VERSION ([0-9]+).*" "\\1" _caf_v
         "${_caf_line}")
  math(EXPR _caf_major "${_caf_v} / 10000")
  math(EXPR _caf_minor "(${_caf_v} / 100) % 100")
  math(EXPR _caf_patch "${_caf_v} % 100")
  set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
endif()

find_package(Threads REQUIRED)
set(_caf_deps_core "")
set(_caf_deps_io "core")
set(_caf_components core ${CAF_FIND_COMPONENTS})
list(REMOVE_DUPLICATES _caf_components)
list(SORT _caf_components) # core before io
foreach(_c IN LISTS _caf_components)
  find_library(CAF_${_c}_LIBRARY NAMES caf_${_c})
  mark_as_advanced(CAF_${_c}_LIBRARY)
  if(CAF_${_c}_LIBRARY AND CAF_INCLUDE_DIR)
    set(CAF_${_c}_FOUND TRUE)
    if(NOT TARGET CAF::${_c})
      set(_deps Threads::Threads)
      foreach(_d IN LISTS _caf_deps_${_c})
        list(APPEND _deps CAF::${_d})
      endforeach()
      add_library(CAF::${_c} UNKNOWN IMPORTED)
      set_target_properties(CAF::${_c} PROPERTIES
        IMPORTED_LOCATION "${CAF_${_c}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${_deps}")
    endif()
  else()
    set(CAF_${_c}_FOUND FALSE)
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_core_LIBRARY
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)
