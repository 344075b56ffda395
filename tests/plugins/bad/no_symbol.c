/* Fixture plugin (tests only): a shared object without the coinpipe_plugin symbol.
 * SPDX-License-Identifier: MIT
 */
__attribute__((visibility("default"))) int not_a_plugin = 1;
