/* config_usage — what chatd says of its settings: --help, the man page
 * chatd(8) (--help=man) and --version, all from config_table.  Internal to
 * config*.c. */
#ifndef CHAT_CONFIG_USAGE_H
#define CHAT_CONFIG_USAGE_H

#include <stdio.h>

/* --help: every setting with its flag, default, help and accepted values. */
void config_usage(FILE *out);
/* --help=man: the same as roff, with the page's other sections. */
void config_man_page(FILE *out);
/* --version: "chatd VERSION". */
void config_version(FILE *out);

#endif
