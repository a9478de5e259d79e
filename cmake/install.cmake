# Installing libmithril for other projects (issue 10): `cmake --install build --prefix DIR` puts the
# public headers in DIR/include/mithril, the library in DIR/lib, a CMake package (find_package(mithril
# CONFIG REQUIRED), target mithril::mithril) and a pkg-config file (mithril.pc). Consumers include
# headers as in this tree ("physical/persistence.h"). Headers that expose RapidJSON, xtensor or the
# tools' JSON writer are internal and not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MITHRIL_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/mithril)
set(MITHRIL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mithril)

install(TARGETS mithril EXPORT mithrilTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${MITHRIL_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/lib/ DESTINATION ${MITHRIL_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h"
        PATTERN "io/json_util.h" EXCLUDE
        PATTERN "tools/report_json.h" EXCLUDE
        PATTERN "backends/reference" EXCLUDE)
install(EXPORT mithrilTargets NAMESPACE mithril:: DESTINATION ${MITHRIL_INSTALL_CMAKEDIR})

file(WRITE ${CMAKE_BINARY_DIR}/mithrilConfig.cmake.in [=[
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(fmt)
include("${CMAKE_CURRENT_LIST_DIR}/mithrilTargets.cmake")
check_required_components(mithril)
]=])
configure_package_config_file(${CMAKE_BINARY_DIR}/mithrilConfig.cmake.in ${CMAKE_BINARY_DIR}/mithrilConfig.cmake
                              INSTALL_DESTINATION ${MITHRIL_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mithrilConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mithrilConfig.cmake ${CMAKE_BINARY_DIR}/mithrilConfigVersion.cmake
        DESTINATION ${MITHRIL_INSTALL_CMAKEDIR})

# pkg-config: paths relative to the .pc file's prefix, so a relocated install still works.
file(WRITE ${CMAKE_BINARY_DIR}/mithril.pc.in [=[
prefix=${pcfiledir}/../..
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=${prefix}/@MITHRIL_INSTALL_INCLUDEDIR@

Name: mithril
Description: Mithril for C++: save, load, convert, migrate and run neural-network models
Version: @PROJECT_VERSION@
Requires: fmt
Cflags: -I${includedir} -std=c++20
Libs: -L${libdir} -lmithril
]=])
configure_file(${CMAKE_BINARY_DIR}/mithril.pc.in ${CMAKE_BINARY_DIR}/mithril.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/mithril.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
