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
# ThreadSanitizer does not model std::atomic_thread_fence, which Asio uses to
# publish a handler's memory to the thread that runs it (GCC warns about each
# use). Asio's documented switch turns those fences off; the ordering TSan
# then checks is the one Asio's scheduler and strands establish with their
# mutexes, which is what makes a handler's writes visible anyway.
if(PROGRESS_SANITIZE MATCHES "thread")
  target_compile_definitions(progress_options INTERFACE BOOST_ASIO_DISABLE_FENCED_BLOCK)
endif()
# Fuzzing (tests/fuzz): every target gets libFuzzer's coverage instrumentation
# and AddressSanitizer with UndefinedBehaviorSanitizer; the fuzz targets link
# libFuzzer itself. Any undefined behaviour aborts, so the fuzzer reports it.
option(PROGRESS_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(PROGRESS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PROGRESS_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14)")
  endif()
  target_compile_options(progress_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(progress_options INTERFACE -fsanitize=address,undefined)
endif()
option(PROGRESS_WERROR "Treat warnings as errors" OFF)
if(PROGRESS_WERROR)
  target_compile_options(progress_options INTERFACE -Werror)
endif()

# GCC 12 reports a false "potential null pointer dereference" inside some
# header-only libraries once their code is inlined at -O2 (Asio's scheduler,
# CLI11's string splitting, libstdc++'s istreambuf_iterator reading a file
# whole into a string). The bridge includes Asio and Beast through one header
# that silences it for their code only (bridge/base/asio.hpp); sources that
# include CLI11 or read a file that way are named here and lose the warning
# for that file.
function(progress_quiet_gcc12_null_dereference)
  set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    PROPERTIES COMPILE_OPTIONS $<$<CXX_COMPILER_ID:GNU>:-Wno-null-dereference>)
endfunction()
