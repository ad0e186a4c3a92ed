# Warning flags and sanitizers live in one INTERFACE target that every
# project target links PRIVATE, so consumers of the installed package never
# inherit them.
add_library(progress_options INTERFACE)
target_compile_features(progress_options INTERFACE cxx_std_20)
target_compile_options(progress_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                 -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                 -Wconversion -Wnull-dereference>)

set(PROGRESS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
if(PROGRESS_SANITIZE)
  target_compile_options(progress_options INTERFACE -fsanitize=${PROGRESS_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(progress_options INTERFACE -fsanitize=${PROGRESS_SANITIZE})
endif()
option(PROGRESS_WERROR "Treat warnings as errors" OFF)
if(PROGRESS_WERROR)
  target_compile_options(progress_options INTERFACE -Werror)
endif()
