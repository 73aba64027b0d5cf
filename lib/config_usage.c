/* config_usage — --help, --help=man and --version (config_usage.h). */
#include "config_usage.h"

#include <stdbool.h>
#include <string.h>

#include "config_opt.h"
#include "config_parse.h"
#include "config_table.h"

#ifndef CHATD_VERSION
#define CHATD_VERSION "dev"
#endif

/* What chatd is and how settings are given: the head of --help and the
 * DESCRIPTION of the man page. */
static const char intro[] =
    "A Socket.IO chat server backed by Redis. Every setting is an environment\n"
    "variable, or the flag of the same name in lowercase with '_' as '-'\n"
    "(REDIS_URL is --redis-url); a flag wins over the environment, and an\n"
    "empty variable counts as unset.";

/* The values an option accepts, one sentence ("" when its help says it). */
static void describe_values(const struct opt *o, char *buf, size_t n)
{
    char lo[16], hi[16];

    switch (o->kind) {
    case KIND_UINT:
        snprintf(buf, n, "An integer %u-%u.", o->min, o->max);
        break;
    case KIND_DURATION:
        format_duration(o->min, lo, sizeof lo);
        format_duration(o->max, hi, sizeof hi);
        snprintf(buf, n, "A duration %s-%s: seconds, or a number with s, m, h or d.", lo, hi);
        break;
    case KIND_SIZE_KIB:
        format_size_kib(o->min, lo, sizeof lo);
        format_size_kib(o->max, hi, sizeof hi);
        snprintf(buf, n, "A size %s-%s: KiB, or a number with KiB, MiB or GiB.", lo, hi);
        break;
    case KIND_BOOL:
        snprintf(buf, n, "A boolean: 1/0, true/false, yes/no, on/off.");
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

static const char *default_text(const struct opt *o)
{
    return o->def_text != NULL ? o->def_text : o->def;
}

/* Prints help text, indenting its continuation lines. */
static void put_indented(FILE *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '\n')
            fputs("\n      ", out);
        else
            fputc(*text, out);
    }
}

void config_usage(FILE *out)
{
    fprintf(out,
            "Usage: chatd [--flag VALUE | --flag=VALUE]...\n"
            "\n"
            "%s\n"
            "\n"
            "  -h, --help      print this help and exit (--help=man: as a man page)\n"
            "  -V, --version   print the version and exit\n",
            intro);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt *o = &config_opts[i];
        char flag[FLAG_NAME_MAX], values[128];

        flag_name(o, flag, sizeof flag);
        fprintf(out, "\n  %s, --%s VALUE\n      default: %s\n      ", o->name, flag,
                default_text(o));
        put_indented(out, o->help);
        describe_values(o, values, sizeof values);
        if (values[0] != '\0')
            fprintf(out, "\n      %s", values);
        fputc('\n', out);
    }
}

/* ---- the man page: chatd(8), from the same table as --help ------------- */

/* text as roff: a backslash is \e, every '-' a minus (\-: flags and
 * values are typed as shown), and a line that would start with a control
 * character ('.' or '\'') is guarded with \&.  Line breaks stay. */
static void put_roff(FILE *out, const char *text)
{
    bool line_start = true;

    for (; *text != '\0'; text++) {
        if (line_start && (*text == '.' || *text == '\''))
            fputs("\\&", out);
        line_start = *text == '\n';
        if (*text == '\\')
            fputs("\\e", out);
        else if (*text == '-')
            fputs("\\-", out);
        else
            fputc(*text, out);
    }
}

/* The build's date as YYYY-MM-DD, from __DATE__ ("Mmm dd yyyy"; gcc takes
 * it from SOURCE_DATE_EPOCH when set, so builds are reproducible). */
static void build_date(char *buf, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'});
    unsigned month = m != NULL ? (unsigned)(m - months) / 3 + 1 : 1;
    unsigned day = (d[4] == ' ' ? 0u : (unsigned)(d[4] - '0')) * 10 + (unsigned)(d[5] - '0');

    snprintf(buf, n, "%.4s-%02u-%02u", d + 7, month % 100, day % 100);
}

static const char man_head[] =
    ".SH NAME\n"
    "chatd \\- real\\-time chat server: Socket.IO, backed by Redis\n"
    ".SH SYNOPSIS\n"
    ".B chatd\n"
    "[\\fB\\-\\-\\fIflag\\fR \\fIvalue\\fR | \\fB\\-\\-\\fIflag\\fB=\\fIvalue\\fR]...\n"
    ".br\n"
    ".B chatd \\-\\-help\\fR[\\fB=man\\fR] | \\fB\\-\\-version\n"
    ".SH DESCRIPTION\n";

static const char man_options[] =
    ".SH OPTIONS\n"
    ".TP\n"
    ".BR \\-h \", \" \\-\\-help\n"
    "Print the settings with their defaults and exit;\n"
    ".B \\-\\-help=man\n"
    "prints this page.\n"
    ".TP\n"
    ".BR \\-V \", \" \\-\\-version\n"
    "Print the version and exit.\n"
    ".SH ENVIRONMENT\n"
    "Each setting, with its flag and default; a value outside what it accepts\n"
    "stops chatd with exit status 2.\n";

static const char man_tail[] =
    ".SH FILES\n"
    ".TP\n"
    ".I /etc/chatd/chatd.env\n"
    "Settings of chatd.service, and of every instance of chatd@.service.\n"
    ".TP\n"
    ".I /etc/chatd/chatd@PORT.env\n"
    "Settings of the instance chatd@PORT.service only.\n"
    ".SH SIGNALS\n"
    ".TP\n"
    ".BR SIGTERM \", \" SIGINT\n"
    "Stop accepting connections, close every client connection cleanly, and exit 0.\n"
    ".TP\n"
    ".B SIGHUP\n"
    "Ignored: settings are read once, at start.\n"
    ".SH \"EXIT STATUS\"\n"
    "0 after a clean stop (and after \\-\\-help, \\-\\-version);\n"
    "1 when chatd could not start (the address is taken, out of memory);\n"
    "2 for an invalid setting or an unknown flag.\n"
    ".SH SYSTEMD\n"
    "Started with\n"
    ".B NOTIFY_SOCKET\n"
    "set (a unit with\n"
    ".BR Type=notify ),\n"
    "chatd sends READY=1 once it listens and its workers run, STOPPING=1 when\n"
    "its shutdown starts, and a STATUS= line.\n"
    "With\n"
    ".B WATCHDOG_USEC\n"
    "set (\\fBWatchdogSec=\\fR), and\n"
    ".B WATCHDOG_PID\n"
    "unset or chatd's, it sends WATCHDOG=1 every half of that time while every\n"
    "worker's event loop turns.\n"
    ".SH \"SEE ALSO\"\n"
    ".BR systemd.service (5),\n"
    ".BR nginx (8),\n"
    ".BR redis\\-server (1),\n"
    ".BR redis\\-sentinel (1);\n"
    "docs/configuration.md and docs/deployment.md in chatd's sources.\n";

void config_man_page(FILE *out)
{
    char date[16];

    build_date(date, sizeof date);
    fprintf(out, ".TH CHATD 8 %s \"chatd %s\" \"System Administration\"\n", date, CHATD_VERSION);
    fputs(man_head, out);
    put_roff(out, intro);
    fputs("\n.PP\nchatd serves the chat's HTTP API, its Socket.IO endpoint and the web app;\n"
          "several chatd sharing one Redis form one chat.\n",
          out);
    fputs(man_options, out);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt *o = &config_opts[i];
        char flag[FLAG_NAME_MAX], values[128];

        flag_name(o, flag, sizeof flag);
        fputs(".TP\n.BR ", out);
        put_roff(out, o->name);
        fputs(" \", \" \\-\\-", out);
        put_roff(out, flag);
        fputs(" \" \\fIvalue\\fR\"\n", out);
        put_roff(out, o->help);
        describe_values(o, values, sizeof values);
        if (values[0] != '\0') {
            fputc('\n', out);
            put_roff(out, values);
        }
        fputs("\n.br\nDefault: ", out);
        put_roff(out, default_text(o));
        fputc('\n', out);
    }
    fputs(man_tail, out);
}

void config_version(FILE *out)
{
    fprintf(out, "chatd %s\n", CHATD_VERSION);
}
