# check-size.cmake: fails the build if a guest payload image is empty or
# larger than GUEST_MAX_PAYLOAD.  Trust: build-time only.
#
# Usage: cmake -DBIN=<image> -DMAX=<bytes> -P check-size.cmake
# link.ld asserts the same limit at link time; this re-checks the file the
# frontend will actually load, in case the linker script and objcopy ever
# disagree about what ends up in it.

if(NOT DEFINED BIN OR NOT DEFINED MAX)
	message(FATAL_ERROR "check-size.cmake: pass -DBIN=<image> -DMAX=<bytes>")
endif()
if(NOT EXISTS "${BIN}")
	message(FATAL_ERROR "guest payload ${BIN} was not produced")
endif()

file(SIZE "${BIN}" size)
if(size EQUAL 0)
	message(FATAL_ERROR "guest payload ${BIN} is empty")
endif()
if(size GREATER MAX)
	message(FATAL_ERROR
		"guest payload ${BIN} is ${size} bytes, over GUEST_MAX_PAYLOAD (${MAX})")
endif()
