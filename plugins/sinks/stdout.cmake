coinpipe_add_plugin(stdout SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stdout.c)
