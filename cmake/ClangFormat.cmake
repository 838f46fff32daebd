# `format` and `format-check` targets over the project's own .cpp/.hpp files.
#
# clang-format is a developer tool: building, testing and installing troupe
# never need it, and no other target depends on these two. The style lives in
# .clang-format at the top of the source tree and is tuned for clang-format 14
# (Debian 12); other versions break some lines differently.
#
# Included from CMakeLists.txt, this file defines the targets. Run with
# `cmake -P` (which the targets do), it formats or checks the files:
#   cmake -DCLANG_FORMAT=<exe> -DSOURCE_DIR=<dir> -DBINARY_DIR=<dir>
#         -DMODE=fix|check -P ClangFormat.cmake
# The file list is made when the target runs, so new files count without
# re-running CMake.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  find_program(CLANG_FORMAT NAMES clang-format-14 clang-format
               DOC "clang-format for the format and format-check targets")
  if(CLANG_FORMAT)
    foreach(mode fix check)
      set(target format)
      if(mode STREQUAL "check")
        set(target format-check)
      endif()
      add_custom_target(${target}
        COMMAND ${CMAKE_COMMAND} -DCLANG_FORMAT=${CLANG_FORMAT}
                -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                -DBINARY_DIR=${PROJECT_BINARY_DIR} -DMODE=${mode}
                -P ${CMAKE_CURRENT_LIST_FILE}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        USES_TERMINAL
        VERBATIM)
    endforeach()
  else()
    message(STATUS "clang-format not found: the format and format-check "
                   "targets only say so (install clang-format-14 to use them)")
    foreach(target format format-check)
      add_custom_target(${target}
        COMMAND ${CMAKE_COMMAND} -E echo
                "${target}: clang-format not found; install clang-format-14 (Debian: apt install clang-format-14) and re-run cmake"
        COMMAND ${CMAKE_COMMAND} -E false
        VERBATIM)
    endforeach()
  endif()
  return()
endif()

# -- script mode ---------------------------------------------------------------

cmake_minimum_required(VERSION 3.18)

foreach(var CLANG_FORMAT SOURCE_DIR BINARY_DIR MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ClangFormat.cmake: -D${var}=... is missing")
  endif()
endforeach()

execute_process(COMMAND ${CLANG_FORMAT} --version
                OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT version MATCHES "version 14\\.")
  message(WARNING "${version}: .clang-format is tuned for clang-format 14; "
                  "this version may break some lines differently")
endif()

# Everything below the source tree except build trees, npm packages and Git's
# own files (build/ and build-*/ as in .gitignore, plus this build tree
# wherever it is).
file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/*.cpp ${SOURCE_DIR}/*.hpp)
file(RELATIVE_PATH binary_rel ${SOURCE_DIR} ${BINARY_DIR})
set(kept)
foreach(f IN LISTS files)
  if(f MATCHES "(^|/)(node_modules|\\.git|CMakeFiles)/"
     OR f MATCHES "^build(-[^/]*)?/")
    continue()
  endif()
  string(FIND "${f}" "${binary_rel}/" pos)
  if(pos EQUAL 0)
    continue()
  endif()
  list(APPEND kept ${f})
endforeach()
list(SORT kept)
list(LENGTH kept count)

if(MODE STREQUAL "fix")
  execute_process(COMMAND ${CLANG_FORMAT} -i --style=file ${kept}
                  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "clang-format failed (${rc})")
  endif()
  message(STATUS "Formatted ${count} files")
elseif(MODE STREQUAL "check")
  set(bad)
  foreach(f IN LISTS kept)
    execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror --style=file
                            ${f}
                    WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc
                    OUTPUT_QUIET ERROR_QUIET)
    if(NOT rc EQUAL 0)
      list(APPEND bad ${f})
    endif()
  endforeach()
  if(bad)
    list(LENGTH bad nbad)
    list(JOIN bad "\n  " listing)
    message(FATAL_ERROR
      "${nbad} of ${count} files are not formatted as .clang-format asks:\n"
      "  ${listing}\n"
      "See the changes with `clang-format --dry-run FILE`; "
      "apply them with the `format` target.")
  endif()
  message(STATUS "All ${count} files are formatted")
else()
  message(FATAL_ERROR "ClangFormat.cmake: MODE must be fix or check")
endif()
