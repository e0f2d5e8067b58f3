"""The oops-text path: parse_oops and the text fallback on real kernel logs pasted from sample-dumps/."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import need
from corpus import BUILD, ROOT, cases, chain_as_expected

from kdumpext.decode import decode
from kdumpext.report import to_json_dict
from kdumpext.errors import UsageError
from kdumpext.oops import parse_oops, strip_timestamps
from kdumpext.errors import NoOopsError, ReleaseMismatch
from kdumpext.oopstriage import (
    TEXT_FORMAT,
    explain_oops,
    frames_from_oops,
    kernel_part,
    log_uptime,
    modules_linked_in,
    oops_report,
    parse_log,
    report_from_text,
)

os.environ.setdefault("DRGN_DISABLE_PLUGINS", "*")

# Each block below is pasted unchanged (trailing blanks aside) from the dmesg.<stamp> the
# sample corpus's capture kernel saved beside the dump; the comment names the file.

# sample-dumps/scst-null-dev/202611261136/dmesg.202611261136, lines 149-177
SEED = """\
[    2.562755] BUG: kernel NULL pointer dereference, address: 0000000000000240
[    2.563079] #PF: supervisor read access in kernel mode
[    2.563159] #PF: error_code(0x0000) - not-present page
[    2.563312] PGD 279067 P4D 279067 PUD 278067 PMD 0
[    2.563574] Oops: 0000 [#1] SMP
[    2.563784] CPU: 0 PID: 33 Comm: scstd30 Kdump: loaded Tainted: G           O       6.1.192 #5
[    2.564065] RIP: 0010:scst_update_lat_stats+0x11/0x30 [scst]
[    2.564667] Code: Unable to access opcode bytes at 0xffffffffc0181fe7.
[    2.564753] RSP: 0018:ffffb8cb400d3eb8 EFLAGS: 00000202
[    2.564834] RAX: 0000000000000000 RBX: ffffa130403e4780 RCX: 0000000000000018
[    2.564915] RDX: 00000000000004c0 RSI: 00000001a0a824fa RDI: 00000001a1831b00
[    2.564993] RBP: dead000000000100 R08: 0000000000000246 R09: ffffa1305701e580
[    2.565069] R10: ffffa13040268000 R11: ffffa1305701e5c0 R12: 0000000000000000
[    2.565147] R13: 0000000000000000 R14: ffffa13040268000 R15: ffffb8cb400cbd40
[    2.565288] FS:  0000000000000000(0000) GS:ffffa13057000000(0000) knlGS:0000000000000000
[    2.565382] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    2.565448] CR2: ffffffffc0181fe7 CR3: 0000000000275000 CR4: 00000000000006b0
[    2.565612] Call Trace:
[    2.566188]  <TASK>
[    2.566385]  scst_finish_cmd+0x9/0x30 [scst]
[    2.566520]  scst_cmd_thread+0x7c/0x130 [scst]
[    2.566607]  ? sugov_irq_work+0xd/0xd
[    2.566848]  ? scst_finish_cmd+0x30/0x30 [scst]
[    2.566916]  kthread+0xa5/0xad
[    2.567013]  ? kthread_complete_and_exit+0x16/0x16
[    2.567072]  ret_from_fork+0x1f/0x30
[    2.567159]  </TASK>
[    2.567240] Modules linked in: kdx(O) scst(O)
[    2.567464] CR2: 0000000000000240
"""


# sample-dumps/err-ptr/202611261137/dmesg.202611261137, lines 149-185
ERR_PTR = """\
[    2.631928] BUG: kernel NULL pointer dereference, address: 0000000000000021
[    2.632090] #PF: supervisor read access in kernel mode
[    2.632158] #PF: error_code(0x0000) - not-present page
[    2.632285] PGD 279067 P4D 279067 PUD 278067 PMD 0
[    2.632565] Oops: 0000 [#1] SMP
[    2.632776] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    2.633049] RIP: 0010:kdx_attach+0x5/0x10 [kdx]
[    2.633576] Code: 89 ee ba 20 00 00 00 48 89 c7 e8 e9 d8 84 d3 48 89 d8 5b 5d c3 48 c7 c3 f4 ff ff ff eb ba 0f 1f 80 00 00 00 00 e8 9b ff ff ff <8b> 40 34 c3 0f 1f 80 00 00 00 00 48 8b 07 48 8b 40 10 c3 0f 1f 84
[    2.633802] RSP: 0018:ffffaca24000be08 EFLAGS: 00000246
[    2.633882] RAX: ffffffffffffffed RBX: 0000000000000008 RCX: c0000000ffffefff
[    2.633959] RDX: 0000000000000000 RSI: ffffffffc03700ce RDI: ffffffffc0370054
[    2.634032] RBP: ffffa0db40891a00 R08: 0000000000000003 R09: 0000000000001000
[    2.634103] R10: ffffaca24000bcc8 R11: 0000000000000003 R12: 00000000344bba30
[    2.634175] R13: 0000000000000008 R14: ffffa0db4045f240 R15: ffffaca24000bf10
[    2.634287] FS:  00000000344b93c0(0000) GS:ffffa0db57000000(0000) knlGS:0000000000000000
[    2.634381] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    2.634446] CR2: 0000000000000021 CR3: 0000000000275000 CR4: 00000000000006b0
[    2.634605] Call Trace:
[    2.635197]  <TASK>
[    2.635384]  kdx_crash_write+0x1e5/0x210 [kdx]
[    2.635513]  full_proxy_write+0x3e/0x59
[    2.635764]  ? full_proxy_poll+0x42/0x42
[    2.635825]  vfs_write+0x9e/0x181
[    2.635874]  ksys_write+0x66/0x97
[    2.635925]  do_syscall_64+0x39/0x46
[    2.635975]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    2.636132] RIP: 0033:0x47b7a0
[    2.636252] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    2.636430] RSP: 002b:00007ffc3a137078 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    2.636556] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    2.636624] RDX: 0000000000000008 RSI: 00000000344bba30 RDI: 0000000000000001
[    2.636707] RBP: 00000000344bba30 R08: fefefefefefefeff R09: ff71736f2c717164
[    2.636805] R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000008
[    2.636869] R13: 00000000344b93a0 R14: 0000000000000001 R15: 00007ffc3a1370e0
[    2.637009]  </TASK>
[    2.637110] Modules linked in: kdx(O) scst(O)
[    2.637406] CR2: 0000000000000021
"""


# sample-dumps/null-fn-call/202611261136/dmesg.202611261136, lines 149-186
NULL_FN_CALL = """\
[    2.534515] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.534765] #PF: supervisor instruction fetch in kernel mode
[    2.534916] #PF: error_code(0x0010) - not-present page
[    2.535162] PGD 279067 P4D 279067 PUD 278067 PMD 0
[    2.535538] Oops: 0010 [#1] SMP
[    2.535894] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    2.536362] RIP: 0010:0x0
[    2.537202] Code: Unable to access opcode bytes at 0xffffffffffffffd6.
[    2.537337] RSP: 0018:ffffa8668000bdf0 EFLAGS: 00000246
[    2.537481] RAX: ffffffffc028d220 RBX: ffff975780850100 RCX: c0000000ffffefff
[    2.537624] RDX: 0000000000000000 RSI: ffff975780846bb0 RDI: ffff975780850100
[    2.537758] RBP: ffff975780846bb0 R08: 0000000000000003 R09: 0000000000001000
[    2.537908] R10: ffffa8668000bcc8 R11: 0000000000000003 R12: 0000000033d31a40
[    2.538043] R13: 000000000000000d R14: ffff97578045fb40 R15: ffffa8668000bf10
[    2.538247] FS:  0000000033d2f3c0(0000) GS:ffff975797000000(0000) knlGS:0000000000000000
[    2.538405] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    2.538508] CR2: ffffffffffffffd6 CR3: 0000000000275000 CR4: 00000000000006b0
[    2.538744] Call Trace:
[    2.539588]  <TASK>
[    2.540017]  kdx_dev_queue_xmit+0xf/0x30 [kdx]
[    2.540805]  kdx_crash_write+0xc2/0x210 [kdx]
[    2.540955]  full_proxy_write+0x3e/0x59
[    2.541365]  ? full_proxy_poll+0x42/0x42
[    2.541475]  vfs_write+0x9e/0x181
[    2.541567]  ksys_write+0x66/0x97
[    2.541662]  do_syscall_64+0x39/0x46
[    2.541735]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    2.541999] RIP: 0033:0x47b7a0
[    2.542197] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    2.542498] RSP: 002b:00007ffefcb09438 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    2.542659] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    2.542814] RDX: 000000000000000d RSI: 0000000033d31a40 RDI: 0000000000000001
[    2.542939] RBP: 0000000033d31a40 R08: fefefefefefefeff R09: ffffff0000000000
[    2.543062] R10: 0000000000000000 R11: 0000000000000202 R12: 000000000000000d
[    2.543216] R13: 0000000033d2f3a0 R14: 0000000000000001 R15: 00007ffefcb094a0
[    2.543396]  </TASK>
[    2.543488] Modules linked in: kdx(O) scst(O)
[    2.543870] CR2: 0000000000000000
"""


# sample-dumps/sysrq-panic/202611261138/dmesg.202611261138, lines 148-171
SYSRQ_PANIC = """\
[    3.138989] sysrq: Trigger a crash
[    3.139451] Kernel panic - not syncing: sysrq triggered crash
[    3.139958] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    3.140415] Call Trace:
[    3.141340]  <TASK>
[    3.141638]  dump_stack_lvl+0x33/0x42
[    3.142288]  panic+0xfc/0x28c
[    3.142376]  sysrq_handle_crash+0xc/0xc
[    3.142517]  __handle_sysrq+0x90/0x10a
[    3.142603]  write_sysrq_trigger+0x26/0x2e
[    3.142721]  proc_reg_write+0x61/0x73
[    3.142828]  vfs_write+0x9e/0x181
[    3.142914]  ksys_write+0x66/0x97
[    3.142989]  do_syscall_64+0x39/0x46
[    3.143069]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    3.143396] RIP: 0033:0x47b7a0
[    3.143813] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    3.144192] RSP: 002b:00007ffee5000938 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    3.144371] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    3.144499] RDX: 0000000000000002 RSI: 0000000012e0aa40 RDI: 0000000000000001
[    3.144618] RBP: 0000000012e0aa40 R08: fefefefefefefeff R09: ffffffffffff0000
[    3.144766] R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000002
[    3.144890] R13: 0000000012e083a0 R14: 0000000000000001 R15: 00007ffee50009a0
[    3.145062]  </TASK>
"""


# sample-dumps/lkdtm-bug/202611261137/dmesg.202611261137, lines 151-183
LKDTM_BUG = """\
[    2.659105] kernel BUG at drivers/misc/lkdtm/bugs.c:78!
[    2.659542] invalid opcode: 0000 [#1] SMP
[    2.659820] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    2.660113] RIP: 0010:lkdtm_BUG+0x0/0x2
[    2.660529] Code: 48 89 df e8 7a cf f0 ff 48 c7 c7 78 c7 0d b7 e8 2f 0c 02 00 48 8b 35 77 32 8c 00 58 48 c7 c7 a8 c7 0d b7 5b 5d e9 19 0c 02 00 <0f> 0b ff 05 94 32 8c 00 74 02 0f 0b c3 b8 02 00 00 00 65 48 8b 14
[    2.660798] RSP: 0018:ffffb6c64000be10 EFLAGS: 00000282
[    2.660890] RAX: ffffffffb6ba54b0 RBX: ffffa1b8808c2000 RCX: c0000000ffffefff
[    2.660972] RDX: 0000000000000095 RSI: 00000000ffffefff RDI: ffffffffb72b5030
[    2.661050] RBP: 0000000000000004 R08: 0000000000000003 R09: 0000000000001000
[    2.661127] R10: ffffb6c64000bcd0 R11: 0000000000000003 R12: ffffffffb72b5030
[    2.661206] R13: ffffb6c64000bf10 R14: ffffa1b880446900 R15: ffffb6c64000bf10
[    2.661322] FS:  000000001c7c03c0(0000) GS:ffffa1b896200000(0000) knlGS:0000000000000000
[    2.661414] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    2.661481] CR2: 00000000005e27b8 CR3: 0000000000275000 CR4: 00000000000006b0
[    2.661640] Call Trace:
[    2.662244]  <TASK>
[    2.662368]  direct_entry+0xa5/0xbb
[    2.662539]  full_proxy_write+0x3e/0x59
[    2.662606]  ? full_proxy_poll+0x42/0x42
[    2.662665]  vfs_write+0x9e/0x181
[    2.662717]  ksys_write+0x66/0x97
[    2.662779]  do_syscall_64+0x39/0x46
[    2.662835]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    2.662999] RIP: 0033:0x47b7a0
[    2.663160] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    2.663350] RSP: 002b:00007ffc31138858 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    2.663446] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    2.663518] RDX: 0000000000000004 RSI: 000000001c7c2a60 RDI: 0000000000000001
[    2.663589] RBP: 000000001c7c2a60 R08: fefefefefefefeff R09: fefeffff00000000
[    2.663660] R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000004
[    2.663729] R13: 000000001c7c03a0 R14: 0000000000000001 R15: 00007ffc311388c0
[    2.663849]  </TASK>
[    2.663918] Modules linked in: kdx(O) scst(O)
"""


# sample-dumps/list-poison/202611261137/dmesg.202611261137, lines 149-180
LIST_POISON = """\
[    2.921712] general protection fault, probably for non-canonical address 0xdead000000000110: 0000 [#1] SMP
[    2.922196] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    2.922623] RIP: 0010:kdx_req_next_tag+0x3/0x10 [kdx]
[    2.923412] Code: f8 48 89 d8 5b 5d c3 48 c7 c3 f4 ff ff ff eb ba 0f 1f 80 00 00 00 00 e8 9b ff ff ff 8b 40 34 c3 0f 1f 80 00 00 00 00 48 8b 07 <48> 8b 40 10 c3 0f 1f 84 00 00 00 00 00 53 48 83 ec 20 48 c7 04 24
[    2.923762] RSP: 0018:ffffae9b4000be08 EFLAGS: 00000286
[    2.923907] RAX: dead000000000100 RBX: 000000000000000c RCX: dead000000000122
[    2.924026] RDX: ffffffffc0311000 RSI: ffffffffc03100d6 RDI: ffff9883c024c4e0
[    2.924140] RBP: ffff9883c0891500 R08: 0000000000000003 R09: 0000000000001000
[    2.924254] R10: ffffae9b4000bcc8 R11: 0000000000000003 R12: 0000000003b4da40
[    2.924372] R13: 000000000000000c R14: ffff9883c045f900 R15: ffffae9b4000bf10
[    2.924542] FS:  0000000003b4b3c0(0000) GS:ffff9883d7000000(0000) knlGS:0000000000000000
[    2.924677] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    2.924775] CR2: 00000000005e27b8 CR3: 0000000000275000 CR4: 00000000000006b0
[    2.925024] Call Trace:
[    2.925884]  <TASK>
[    2.926159]  kdx_crash_write+0x18b/0x210 [kdx]
[    2.926383]  full_proxy_write+0x3e/0x59
[    2.926742]  ? full_proxy_poll+0x42/0x42
[    2.926847]  vfs_write+0x9e/0x181
[    2.926930]  ksys_write+0x66/0x97
[    2.927061]  do_syscall_64+0x39/0x46
[    2.927144]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    2.927391] RIP: 0033:0x47b7a0
[    2.927572] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    2.927846] RSP: 002b:00007fff037d7fe8 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    2.927988] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    2.928094] RDX: 000000000000000c RSI: 0000000003b4da40 RDI: 0000000000000001
[    2.928198] RBP: 0000000003b4da40 R08: fefefefefefefeff R09: feffffff00000000
[    2.928300] R10: 0000000000000000 R11: 0000000000000202 R12: 000000000000000c
[    2.928405] R13: 0000000003b4b3a0 R14: 0000000000000001 R15: 00007fff037d8050
[    2.928561]  </TASK>
[    2.928662] Modules linked in: kdx(O) scst(O)
"""


# sample-dumps/lkdtm-warning/202611261217/dmesg.202611261217, lines 153-222
LKDTM_WARNING = """\
[    3.286520] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:85 lkdtm_WARNING+0x8/0xb
[    3.287031] Modules linked in: kdx(O) scst(O)
[    3.287386] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    3.287686] RIP: 0010:lkdtm_WARNING+0x8/0xb
[    3.287871] Code: c7 78 c7 ed b4 e8 2f 0c 02 00 48 8b 35 77 32 8c 00 58 48 c7 c7 a8 c7 ed b4 5b 5d e9 19 0c 02 00 0f 0b ff 05 94 32 8c 00 74 02 <0f> 0b c3 b8 02 00 00 00 65 48 8b 14 25 00 ac 01 00 87 42 18 e9 df
[    3.288184] RSP: 0018:ffff9f3a4000be10 EFLAGS: 00000202
[    3.288267] RAX: ffffffffb49a54b2 RBX: ffff96d840d72000 RCX: c0000000ffffefff
[    3.288342] RDX: 0000000000000096 RSI: 00000000ffffefff RDI: ffffffffb50b5040
[    3.288413] RBP: 0000000000000008 R08: 0000000000000003 R09: 0000000000001000
[    3.288483] R10: ffff9f3a4000bcd0 R11: 0000000000000003 R12: ffffffffb50b5040
[    3.288603] R13: ffff9f3a4000bf10 R14: ffff96d84044b9c0 R15: ffff9f3a4000bf10
[    3.288758] FS:  00000000177ed3c0(0000) GS:ffff96d84d200000(0000) knlGS:0000000000000000
[    3.288844] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
[    3.288905] CR2: 00000000005e27b8 CR3: 0000000000c19000 CR4: 00000000000006b0
[    3.289070] Call Trace:
[    3.289765]  <TASK>
[    3.289914]  direct_entry+0xa5/0xbb
[    3.290092]  full_proxy_write+0x3e/0x59
[    3.290157]  ? full_proxy_poll+0x42/0x42
[    3.290213]  vfs_write+0x9e/0x181
[    3.290262]  ksys_write+0x66/0x97
[    3.290315]  do_syscall_64+0x39/0x46
[    3.290365]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    3.290559] RIP: 0033:0x47b7a0
[    3.290793] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    3.290981] RSP: 002b:00007ffd9fde9fd8 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    3.291068] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    3.291134] RDX: 0000000000000008 RSI: 00000000177efa70 RDI: 0000000000000001
[    3.291198] RBP: 00000000177efa70 R08: fefefefefefefeff R09: ff464d484d514056
[    3.291262] R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000008
[    3.291325] R13: 00000000177ed3a0 R14: 0000000000000001 R15: 00007ffd9fdea040
[    3.291428]  </TASK>
[    3.291645] Kernel panic - not syncing: kernel: panic_on_warn set ...
[    3.291897] CPU: 0 PID: 1 Comm: init Kdump: loaded Tainted: G           O       6.1.192 #5
[    3.292048] Call Trace:
[    3.292090]  <TASK>
[    3.292090]  dump_stack_lvl+0x33/0x42
[    3.292090]  panic+0xfc/0x28c
[    3.292090]  check_panic_on_warn+0x18/0x41
[    3.292090]  __warn+0xa4/0xc0
[    3.292090]  report_bug+0xe5/0x141
[    3.292090]  ? lkdtm_WARNING+0x8/0xb
[    3.292090]  handle_bug+0x3c/0x5b
[    3.292090]  exc_invalid_op+0x13/0x59
[    3.292090]  asm_exc_invalid_op+0x16/0x20
[    3.292090] RIP: 0010:lkdtm_WARNING+0x8/0xb
[    3.292090] Code: c7 78 c7 ed b4 e8 2f 0c 02 00 48 8b 35 77 32 8c 00 58 48 c7 c7 a8 c7 ed b4 5b 5d e9 19 0c 02 00 0f 0b ff 05 94 32 8c 00 74 02 <0f> 0b c3 b8 02 00 00 00 65 48 8b 14 25 00 ac 01 00 87 42 18 e9 df
[    3.292090] RSP: 0018:ffff9f3a4000be10 EFLAGS: 00000202
[    3.292090] RAX: ffffffffb49a54b2 RBX: ffff96d840d72000 RCX: c0000000ffffefff
[    3.292090] RDX: 0000000000000096 RSI: 00000000ffffefff RDI: ffffffffb50b5040
[    3.292090] RBP: 0000000000000008 R08: 0000000000000003 R09: 0000000000001000
[    3.292090] R10: ffff9f3a4000bcd0 R11: 0000000000000003 R12: ffffffffb50b5040
[    3.292090] R13: ffff9f3a4000bf10 R14: ffff96d84044b9c0 R15: ffff9f3a4000bf10
[    3.292090]  ? lkdtm_BUG+0x2/0x2
[    3.292090]  direct_entry+0xa5/0xbb
[    3.292090]  full_proxy_write+0x3e/0x59
[    3.292090]  ? full_proxy_poll+0x42/0x42
[    3.292090]  vfs_write+0x9e/0x181
[    3.292090]  ksys_write+0x66/0x97
[    3.292090]  do_syscall_64+0x39/0x46
[    3.292090]  entry_SYSCALL_64_after_hwframe+0x4b/0xb5
[    3.292090] RIP: 0033:0x47b7a0
[    3.292090] Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d e8 85 16 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89
[    3.292090] RSP: 002b:00007ffd9fde9fd8 EFLAGS: 00000202 ORIG_RAX: 0000000000000001
[    3.292090] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 000000000047b7a0
[    3.292090] RDX: 0000000000000008 RSI: 00000000177efa70 RDI: 0000000000000001
[    3.292090] RBP: 00000000177efa70 R08: fefefefefefefeff R09: ff464d484d514056
[    3.292090] R10: 0000000000000000 R11: 0000000000000202 R12: 0000000000000008
[    3.292090] R13: 00000000177ed3a0 R14: 0000000000000001 R15: 00007ffd9fdea040
[    3.292090]  </TASK>
"""


def _have_debug() -> bool:
    return all(os.path.exists(os.path.join(BUILD, n)) and os.path.getsize(os.path.join(BUILD, n)) > 0
               for n in ("vmlinux.xz", "scst.ko.xz", "kdx.ko.xz"))


def need_debug() -> None:
    need(_have_debug(), "sample-dumps/build/ has no vmlinux.xz, scst.ko.xz, kdx.ko.xz (run sample-dumps/generate)")


# --- parse_oops on real text ------------------------------------------------------------


def test_seed_fault_address_is_the_titles_not_the_stale_register_cr2():
    # The register dump says CR2: ffffffffc0181fe7: show_regs() read CR2 after the
    # failed "Code:" read faulted on that address.  The title and the trailing CR2 line
    # hold the real fault address.
    assert "CR2: ffffffffc0181fe7 CR3:" in SEED
    oops = parse_oops(SEED)
    assert oops is not None
    assert oops.fault_address == 0x240
    assert "cr2" not in oops.registers
    assert oops.title.startswith("BUG: kernel NULL pointer dereference")
    assert oops.pf_access == "read"
    assert (oops.cpu, oops.pid, oops.comm, oops.release) == (0, 33, "scstd30", "6.1.192")
    assert (oops.rip_function, oops.rip_offset, oops.rip_module) == ("scst_update_lat_stats", 0x11, "scst")
    assert oops.code == b"" and oops.code_fault_index is None  # "Unable to access opcode bytes"
    assert oops.registers["rax"] == 0
    assert oops.registers["rbx"] == 0xFFFFA130403E4780
    assert oops.registers["rbp"] == 0xDEAD000000000100
    assert oops.registers["rsp"] == 0xFFFFB8CB400D3EB8
    assert [e.function for e in oops.trace if e.reliable] == [
        "scst_finish_cmd", "scst_cmd_thread", "kthread", "ret_from_fork"]
    assert [e.function for e in oops.trace if not e.reliable] == [
        "sugov_irq_work", "scst_finish_cmd", "kthread_complete_and_exit"]
    assert oops.trace[0].module == "scst" and oops.trace[0].offset == 0x9


def test_err_ptr_code_bytes_decode_to_the_faulting_load():
    oops = parse_oops(ERR_PTR)
    assert oops is not None and oops.code_fault_index is not None
    assert oops.code[oops.code_fault_index] == 0x8B  # <8b>
    insn = decode(oops.code[oops.code_fault_index:], 0)
    assert insn.text == "mov 0x34(%rax),%eax"
    assert insn.mem is not None and (insn.mem.base, insn.mem.disp, insn.mem.size) == ("rax", 0x34, 4)
    assert insn.access == "read"
    assert oops.registers["rax"] == 0xFFFFFFFFFFFFFFED  # ERR_PTR(-ENODEV)


def test_user_mode_code_line_is_not_the_kernels():
    # A syscall's oops prints the user registers after the trace, with a Code: line of
    # their own; the kernel's Code: here was "Unable to access opcode bytes".
    assert "RIP: 0033:0x47b7a0" in NULL_FN_CALL
    assert "RIP: 0033" not in kernel_part(NULL_FN_CALL)
    assert "Modules linked in" in kernel_part(NULL_FN_CALL)
    oops = parse_log(NULL_FN_CALL)
    assert oops is not None
    assert oops.code == b""
    assert oops.rip_address == 0 and oops.rip_function == ""
    assert oops.pf_access == "exec"
    assert oops.registers["rsp"] == 0xFFFFA8668000BDF0  # the kernel's, not the user's 00007ffe...


def test_plain_panic_is_parsed_with_its_trace():
    oops = parse_log(SYSRQ_PANIC)
    assert oops is not None
    assert oops.title == "" and oops.panic == "sysrq triggered crash"
    assert (oops.pid, oops.comm) == (1, "init")
    frames = frames_from_oops(oops)
    assert [f.function for f in frames][:3] == ["panic", "sysrq_handle_crash", "__handle_sysrq"]
    assert not any(f.exception for f in frames)


def test_panic_on_warn_trace_is_the_warnings_own():
    # panic() prints a second "CPU:" line and call trace after the WARNING's: the oops is
    # the first report only, the panic message comes from the line after it
    oops = parse_log(LKDTM_WARNING)
    assert oops is not None
    assert oops.title.startswith("WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:85")
    assert oops.panic == "kernel: panic_on_warn set ..."
    assert [e.function for e in oops.trace if e.reliable] == [
        "direct_entry", "full_proxy_write", "vfs_write", "ksys_write", "do_syscall_64",
        "entry_SYSCALL_64_after_hwframe"]
    v = _bare(LKDTM_WARNING).verdict
    assert v.instruction is not None and v.instruction.mnemonic == "ud2"
    assert (v.bucket, v.source) == ("warning:lkdtm_WARNING", "drivers/misc/lkdtm/bugs.c:85")


def test_log_helpers():
    assert modules_linked_in(SEED) == ["kdx", "scst"]
    assert log_uptime(SEED, "BUG: kernel NULL pointer dereference") == pytest.approx(2.562755)
    assert parse_log("[    0.000000] Linux version 6.1.192\n[    1.0] all fine\n") is None


# --- the verdict from text alone (no vmlinux) --------------------------------------------


def _bare(text: str):
    return report_from_text(text, "pasted.txt", find_debug_info=False)


def test_seed_without_vmlinux():
    r = _bare(SEED)
    v = r.verdict
    assert r.dump.format == TEXT_FORMAT
    assert r.warnings[0].startswith("explained from the kernel log text")
    assert (v.crash_class, v.function, v.module, v.access) == ("null-deref", "scst_update_lat_stats", "scst", "read")
    assert v.bad is not None and (v.bad.kind, v.bad.offset) == ("null", 0x240)
    assert v.bucket == "null-deref:scst_update_lat_stats"
    assert v.confidence == "low"
    assert "no vmlinux" in v.undecided and "Code:" in v.undecided
    assert r.task is not None and (r.task.pid, r.task.comm, r.task.cpu) == (33, "scstd30", 0)
    assert r.dump.release == "6.1.192" and r.dump.modules == ["kdx", "scst"]
    assert [f.function for f in r.frames] == ["scst_update_lat_stats", "scst_finish_cmd", "scst_cmd_thread",
                                              "kthread", "ret_from_fork"]
    assert r.frames[0].exception


def test_err_ptr_without_vmlinux_decodes_the_code_line():
    v = _bare(ERR_PTR).verdict
    assert v.crash_class == "err-ptr"
    assert v.instruction is not None and v.instruction.text == "mov 0x34(%rax),%eax"
    assert v.bad is not None and (v.bad.detail, v.bad.offset) == ("ERR_PTR(-ENODEV)", 0x34)
    assert v.address == 0x21
    assert "%rax" in v.summary
    assert any(e.text.startswith("kdx_attach+0x5 [kdx]: mov 0x34(%rax),%eax") for e in v.evidence)


def test_list_poison_without_vmlinux():
    v = _bare(LIST_POISON).verdict
    assert v.crash_class == "list-poison"
    assert v.bad is not None and (v.bad.detail, v.bad.offset) == ("LIST_POISON1", 0x10)
    assert v.bucket == "list-poison:kdx_req_next_tag"


def test_null_fn_call_without_vmlinux_names_the_caller():
    v = _bare(NULL_FN_CALL).verdict
    assert v.crash_class == "null-fn-call" and v.access == "exec"
    assert (v.function, v.module) == ("kdx_dev_queue_xmit", "kdx")
    assert v.bucket == "null-fn-call:kdx_dev_queue_xmit"


def test_bug_and_panic_without_vmlinux():
    v = _bare(LKDTM_BUG).verdict
    assert (v.crash_class, v.function, v.source) == ("bug", "lkdtm_BUG", "drivers/misc/lkdtm/bugs.c:78")
    assert v.instruction is not None and v.instruction.mnemonic == "ud2"
    p = _bare(SYSRQ_PANIC)
    assert (p.verdict.crash_class, p.verdict.function) == ("panic", "sysrq_handle_crash")
    assert p.dump.panic_message == "Kernel panic - not syncing: sysrq triggered crash"


def test_explain_oops_is_pure():
    # the core needs no file: an Oops in, a Verdict out
    oops = parse_log(ERR_PTR)
    assert oops is not None
    assert explain_oops(oops).bucket == "err-ptr:kdx_attach"


def test_no_oops_is_an_error(tmp_path):
    log = tmp_path / "dmesg.1"
    log.write_text("[    0.000000] Linux version 6.1.192\n")
    with pytest.raises(NoOopsError) as e:
        oops_report(str(log), find_debug_info=False)
    assert "no oops" in str(e.value) and e.value.exit_code == 3


# --- with the corpus's vmlinux and modules -------------------------------------------------


def test_seed_with_vmlinux_names_pointer_and_member():
    need_debug()
    r = report_from_text(SEED, "pasted.txt", debug_dirs=[BUILD])
    v = r.verdict
    assert r.dump.vmlinux
    assert (v.pointer, v.pointer_type) == ("cmd->dev", "struct scst_device *")
    assert v.access_path == "cmd->dev->vdev_update_lat_stats"
    assert v.member is not None and (v.member.type_name, v.member.offset) == ("struct scst_device", 0x240)
    assert v.bucket == "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"
    assert v.confidence == "high"
    assert v.source.endswith("scst.c:63") or v.source  # file:line from the module's DWARF
    # no Code: bytes in this oops: the instruction came from the module file
    assert v.instruction is not None and v.instruction.text == "mov 0x240(%rax),%rax"
    assert any("from the scst.ko" in e.text for e in v.evidence)
    assert any("matched by name and release only" in w for w in r.warnings)


def test_null_fn_call_with_vmlinux_follows_the_return_address():
    need_debug()
    from corpus import case

    with open(case("null-fn-call").dmesg) as f:  # the log of the build in sample-dumps/build
        text = f.read()
    v = report_from_text(text, "pasted.txt", debug_dirs=[BUILD]).verdict
    assert v.pointer == "n->ops->xmit"
    assert v.bucket == "null-fn-call:kdx_dev_queue_xmit:kdx_net_ops.xmit"


def test_vmlinux_of_another_release_is_refused():
    need_debug()
    other = SEED.replace("6.1.192 #5", "6.1.999 #5")
    from kdumpext.locate import unpacked

    vml = unpacked(os.path.join(BUILD, "vmlinux.xz"))
    with pytest.raises(ReleaseMismatch) as e:
        report_from_text(other, "pasted.txt", vmlinux=vml)
    assert "6.1.999" in str(e.value) and e.value.exit_code == 5
    # found on the search path rather than given: passed over with a warning
    r = report_from_text(other, "pasted.txt", debug_dirs=[BUILD])
    assert r.dump.vmlinux == "" and any("not the oops' 6.1.999" in w for w in r.warnings)
    with pytest.raises(UsageError, match="No such file"):  # a file the user named is not there: usage (2)
        report_from_text(SEED, "pasted.txt", vmlinux="/nonexistent/vmlinux")


_FIELDS = ("class", "function", "pointer", "access_path", "struct", "member", "offset", "access", "bucket")


@pytest.mark.parametrize("case", cases(), ids=str)
def test_fallback_on_every_sample_log_matches_expected(case):
    """The text fallback, given the build's vmlinux, gives each scenario's expected answer."""
    need_debug()
    r = oops_report(case.dmesg, debug_dirs=[BUILD])
    got = to_json_dict(r)["verdict"]
    for key in _FIELDS:
        if key in case.expected:  # null in expected.json: "" or null in the report
            assert (got[key] or None) == (case.expected[key] or None), key
    if "chain" in case.expected:  # the same provenance from the log's registers and the files' code
        want = case.expected["chain"] or []
        chain = chain_as_expected(got["chain"], want)
        if chain != want:
            # a log has no caller frames' registers: a hop that needs them (a tail jump through a
            # pointer read again from memory) ends the chain at an undecided argument, never a wrong hop
            assert chain and chain == want[: len(chain)] and chain[-1]["kind"] in ("argument", "unknown"), chain
    assert r.dump.format == TEXT_FORMAT
    task = case.expected.get("task") or {}
    for key in ("comm", "pid", "cpu"):
        if key in task:
            assert getattr(r.task, key) == task[key], key


def test_fallback_cases_exist():
    need(len(cases()) > 0, "sample-dumps/*/*/expected.json not written yet")


def test_cli_oops_json():
    need_debug()
    logs = sorted(glob.glob(os.path.join(ROOT, "sample-dumps", "scst-null-dev", "*", "dmesg.*")))
    need(bool(logs), "sample-dumps/scst-null-dev/ has no dmesg")
    exe = os.path.join(os.path.dirname(sys.executable), "kdumpext")
    env = dict(os.environ, KDUMPEXT_DEBUG_PATH=BUILD)
    out = subprocess.run([exe, "oops", logs[0], "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == "kdumpext.triage/1"
    assert doc["dump"]["format"] == TEXT_FORMAT
    assert doc["bucket"] == "null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats"


# --- every x86-64 format since 3.10, on excerpts of syzkaller's report-parser test data -------
# Each block below is cut (lines left out, long lines shortened, never changed otherwise) from
# github.com/google/syzkaller pkg/report/testdata/linux/report/N; the comment names N.

# report/224 (4.4): the title glued to kasan's line, the RIP, trace and "RIP  [<...>]" of kernels
# before 4.9 (and RHEL 7), another task's binder messages inside the trace, Code: after the trace
OLD_FORMAT = """\
[   44.870467] kasan: GPF could be caused by NULL-ptr deref or user memory accessgeneral protection fault: 0000 [#1] PREEMPT SMP KASAN
[   44.890589] Modules linked in:
[   44.893919] CPU: 0 PID: 6879 Comm: syz-executor3 Not tainted 4.4.118-g239a415 #25
2018/02/27 11:26:59 executing program 2:
[   44.910849] task: ffff8800b94c6000 task.stack: ffff8800b9768000
[   44.916891] RIP: 0010:[<ffffffff81d64236>]  [<ffffffff81d64236>] __list_del_entry+0x86/0x1d0
[   44.925601] RSP: 0018:ffff8800b976f5a8  EFLAGS: 00010246
[   44.931033] RAX: dffffc0000000000 RBX: 0000000000000000 RCX: ffff8800b941d190
[   44.938291] RDX: 0000000000000000 RSI: ffff8800b94c6920 RDI: ffff8800b941d198
[   44.981384] CR2: 00007f98f7304db8 CR3: 00000000b3d30000 CR4: 0000000000160670
[   45.003139] Stack:
[   45.005268]  ffff8800b941d1b8 ffff8800b941d190 ffff8800aca8f3c0 ffff8800b976f5d8
[   45.029309] Call Trace:
[   45.031876]  [<ffffffff81d6438d>] list_del+0xd/0x70
[   45.036865]  [<ffffffff832b05be>] xfrm_state_walk_done+0x6e/0xa0
[   45.039511] binder: 6883:6922 got reply transaction with no transaction stack
[   45.321239]  [<ffffffff8157a52d>] ? fd_install+0x4d/0x60
[   45.332857]  [<ffffffff82def6cd>] SyS_sendmsg+0x2d/0x50
[   45.338189]  [<ffffffff83772a5f>] entry_SYSCALL_64_fastpath+0x1c/0x98
[   45.344735] Code: c4 0f 84 94 00 00 00 48 b8 00 02 00 00 00 00 ad de 48 39 c3 0f 84 a5 00 00 00 48 b8 00 00 00 00 00 fc ff df 48 89 da 48 c1 ea 03 <80> 3c 02 00 0f 85 e8 00 00 00 4c 8b 03 49 39 c8 0f 85 9b 00 00
[   45.371293] RIP  [<ffffffff81d64236>] __list_del_entry+0x86/0x1d0
[   45.385990] Kernel panic - not syncing: Fatal exception in interrupt
"""


def test_old_format_rip_trace_and_glued_title():
    oops = parse_log(OLD_FORMAT)
    assert oops is not None
    assert oops.title == "general protection fault: 0000 [#1] PREEMPT SMP KASAN"
    assert (oops.rip_function, oops.rip_offset, oops.rip_address) == ("__list_del_entry", 0x86, None)
    assert [(e.function, e.reliable) for e in oops.trace] == [
        ("list_del", True), ("xfrm_state_walk_done", True), ("fd_install", False), ("SyS_sendmsg", True),
        ("entry_SYSCALL_64_fastpath", True)]
    assert oops.registers["rax"] == 0xdffffc0000000000 and oops.registers["rdi"] == 0xffff8800b941d198
    assert oops.code_fault_index == 43 and oops.code[43] == 0x80
    assert (oops.pid, oops.release, oops.panic) == (6879, "4.4.118-g239a415", "Fatal exception in interrupt")
    assert decode(oops.code[43:], 0).mnemonic.startswith("cmp")


# report/4 (4.12): panic_on_warn panics before the registers; the WARN's RIP comes in panic()'s trace
PANIC_ON_WARN_4X = """\
[   55.950418] ------------[ cut here ]------------
[   55.967976] WARNING: CPU: 1 PID: 8377 at arch/x86/kvm/x86.c:7209 kvm_arch_vcpu_ioctl_run+0x1f7/0x5a00
[   56.041277] Kernel panic - not syncing: panic_on_warn set ...
[   56.041277] 
[   56.048693] CPU: 1 PID: 8377 Comm: syz-executor6 Not tainted 4.12.0-rc7+ #2
[   56.065137] Call Trace:
[   56.067707]  dump_stack+0x194/0x257
[   56.076017]  panic+0x1e4/0x3fb
[   56.098863]  __warn+0x1c4/0x1e0
[   56.107126]  report_bug+0x211/0x2d0
[   56.154533]  invalid_op+0x1e/0x30
[   56.157961] RIP: 0010:kvm_arch_vcpu_ioctl_run+0x1f7/0x5a00
[   56.163554] RSP: 0018:ffff8801c5e37720 EFLAGS: 00010212
[   56.168891] RAX: 0000000000010000 RBX: ffff8801c8baa000 RCX: ffffc90004763000
[   56.205118]  ? vcpu_load+0x1c/0x70
[   56.283141]  kvm_vcpu_ioctl+0x627/0x1110
[   56.328041]  do_vfs_ioctl+0x1b1/0x15c0
[   56.348420]  SyS_ioctl+0x8f/0xc0
[   56.351776]  entry_SYSCALL_64_fastpath+0x1f/0xbe
[   56.356509] RIP: 0033:0x4512c9
[   56.359673] RSP: 002b:00007f7e59d4fc08 EFLAGS: 00000216 ORIG_RAX: 0000000000000010
[   56.367353] RAX: ffffffffffffffda RBX: 0000000000718000 RCX: 00000000004512c9
[   56.411940] Kernel Offset: disabled
"""


def test_panic_on_warn_before_the_registers():
    oops = parse_log(PANIC_ON_WARN_4X)
    assert oops is not None
    assert (oops.bug_file, oops.bug_line, oops.panic) == ("arch/x86/kvm/x86.c", 7209, "panic_on_warn set ...")
    assert (oops.rip_function, oops.rip_offset) == ("kvm_arch_vcpu_ioctl_run", 0x1f7)
    assert oops.registers["rax"] == 0x10000 and oops.registers["rsp"] == 0xffff8801c5e37720  # the kernel's
    # the frames above the exception are the path that reported it
    assert [e.function for e in oops.trace if e.reliable] == [
        "kvm_vcpu_ioctl", "do_vfs_ioctl", "SyS_ioctl", "entry_SYSCALL_64_fastpath"]
    v = report_from_text(PANIC_ON_WARN_4X, "report-4", find_debug_info=False).verdict
    assert (v.crash_class, v.function, v.source) == ("warning", "kvm_arch_vcpu_ioctl_run", "arch/x86/kvm/x86.c:7209")


# report/744 (6.16): the WARNING format naming file:line first, another task (T43) interleaved
WARN_6_16 = """\
[  237.726449][  T112] WARNING: fs/jfs/jfs_dmap.c:2867 at dbAdjTree+0x454/0x4e0, CPU#0: jfsCommit/112
[  237.729558][   T43] usb 1-1: config 1 interface 0 altsetting 0 has 1 endpoint descriptor, different from the interface descriptor's value: 0
[  237.736143][  T112] Modules linked in:
[  237.755269][  T112] CPU: 0 UID: 0 PID: 112 Comm: jfsCommit Not tainted 6.16.0-rc2-next-20250617-syzkaller #0 PREEMPT(full) 
[  237.797266][  T112] RIP: 0010:dbAdjTree+0x454/0x4e0
[  237.802653][  T112] Code: 5a ff ff ff e8 6d ea 81 fe eb 05 e8 66 ea 81 fe 48 83 c4 28 5b 41 5c 41 5d 41 5e 41 5f 5d e9 83 f7 2d 08 cc e8 4d ea 81 fe 90 <0f> 0b 90
[  237.823544][  T112] RSP: 0018:ffffc900026c7988 EFLAGS: 00010293
[  237.829670][  T112] RAX: ffffffff833e8123 RBX: ffff8880701db010 RCX: ffff88801e3e5a00
[  237.838513][   T43] RAX: 0000000000000000 usb 1-1: New USB device strings: Mfr=1, Product=2, SerialNumber=3
[  237.919598][  T112] Call Trace:
[  237.926755][  T112]  <TASK>
[  237.929740][  T112]  ? __pfx_lock_metapage+0x10/0x10
[  237.935025][  T112]  dbJoin+0x238/0x300
[  237.963682][   T43] usb 1-1: Manufacturer: syz
[  237.939067][  T112]  dbFreeBits+0x4e1/0xdb0
"""


def test_new_warning_format_and_caller_ids():
    oops = parse_log(WARN_6_16)
    assert oops is not None and oops.caller == "T112"
    assert (oops.bug_file, oops.bug_line, oops.cpu, oops.pid, oops.comm) == ("fs/jfs/jfs_dmap.c", 2867, 0, 112, "jfsCommit")
    assert (oops.title_function, oops.title_offset) == ("dbAdjTree", 0x454)
    assert oops.release == "6.16.0-rc2-next-20250617-syzkaller"
    assert oops.rip_function == "dbAdjTree" and oops.registers["rax"] == 0xffffffff833e8123  # not T43's
    assert [e.function for e in oops.trace] == ["__pfx_lock_metapage", "dbJoin", "dbFreeBits"]
    v = report_from_text(WARN_6_16, "report-744", find_debug_info=False).verdict
    assert (v.crash_class, v.source) == ("warning", "fs/jfs/jfs_dmap.c:2867")


# report/522 (5.9): "divide_error", printed in interrupt context ([C1]), then the user registers
DIVIDE_ERROR = """\
[   63.550339][    C1] divide_error: 0000 [#1] PREEMPT SMP KASAN
[   63.556240][    C1] CPU: 1 PID: 6855 Comm: syz-executor857 Not tainted 5.9.0-rc8-syzkaller #0
[   63.575262][    C1] RIP: 0010:tabledist.part.0+0x22a/0x2a0
[   63.580864][    C1] Code: 4c 01 f0 48 c1 e8 20 41 89 45 00 41 89 c6 e8 3d 9a d2 fa 48 85 db 0f 85 6d fe ff ff e8 2f 9a d2 fa 8d 4c 2d 00 44 89 f0 31 d2 <f7> f1 49 29 ec 49 01 d4 e9 2b ff ff ff e8 14 9a d2 fa 48 81 eb 00
[   63.600477][    C1] RSP: 0018:ffffc90000da86d8 EFLAGS: 00010246
[   63.606526][    C1] RAX: 00000000f1328ef9 RBX: 0000000000000000 RCX: 0000000000000000
[   63.686606][    C1] Call Trace:
[   63.689890][    C1]  <IRQ>
[   63.692734][    C1]  netem_enqueue+0x461/0x3560
[   64.098884][    C1]  entry_SYSCALL_64_after_hwframe+0x44/0xa9
[   64.104758][    C1] RIP: 0033:0x442d78
[   64.108632][    C1] Code: Bad RIP value.
[   64.112668][    C1] RSP: 002b:00007ffdd2151d28 EFLAGS: 00000246 ORIG_RAX: 00000000000000e7
[   64.121056][    C1] RAX: ffffffffffffffda RBX: 0000000000000001 RCX: 0000000000442d78
"""


def test_divide_error_in_interrupt_context():
    for text in (DIVIDE_ERROR, kernel_part(DIVIDE_ERROR)):
        oops = parse_oops(text)
        assert oops is not None and oops.caller == "C1" and oops.title.startswith("divide_error: 0000")
        assert (oops.rip_function, oops.code_fault_index, oops.code[42]) == ("tabledist.part.0", 42, 0xf7)
        assert oops.registers["rax"] == 0xf1328ef9 and oops.registers["rsp"] == 0xffffc90000da86d8
        assert [e.function for e in oops.trace] == ["netem_enqueue", "entry_SYSCALL_64_after_hwframe"]


# report/480 (5.6): a call to 0x86; the trace is all "? " lines
CALL_0X86 = """\
[  202.652969][ T9969] BUG: kernel NULL pointer dereference, address: 0000000000000086
[  202.660811][ T9969] #PF: supervisor instruction fetch in kernel mode
[  202.667314][ T9969] #PF: error_code(0x0010) - not-present page
[  202.679547][ T9969] Oops: 0010 [#1] PREEMPT SMP KASAN
[  202.684751][ T9969] CPU: 1 PID: 9969 Comm: syz-executor.0 Not tainted 5.6.0-rc6-syzkaller #0
[  202.685601][ T9967] ubi0: scanning is finished
[  202.693481][ T9969] RIP: 0010:0x86
[  202.693499][ T9969] Code: Bad RIP value.
[  202.693564][ T9969] Call Trace:
[  202.693582][ T9969]  ? handle_external_interrupt_irqoff+0x154/0x280
[  202.897636][ T9969] Modules linked in:
[  202.901521][ T9969] CR2: 0000000000000086
[  202.905670][ T9969] ---[ end trace e25748bb637f10e1 ]---
"""


def test_call_to_the_first_page_and_nothing_the_log_does_not_say():
    v = report_from_text(CALL_0X86, "report-480", find_debug_info=False).verdict
    assert (v.crash_class, v.access, v.address) == ("null-fn-call", "exec", 0x86)
    # without its RIP: line the same report has no pc: unknown, never a call to 0
    text = CALL_0X86.replace("RIP: 0010:0x86", "RIP: 0010:garbled").replace("instruction fetch", "read access")
    v = report_from_text(text, "report-480", find_debug_info=False).verdict
    assert v.access != "exec" and v.crash_class not in ("null-fn-call", "bad-call", "panic")
    # an oops without a panic line is not a panic, whatever else it lacks
    v = report_from_text(OLD_FORMAT.replace("Kernel panic - not syncing: Fatal exception in interrupt", "")
                         .replace("RIP", "xxx"), "report-224", find_debug_info=False).verdict
    assert v.crash_class != "panic" and v.access != "exec"


# report/76: sshd's warning is no kernel WARNING (no CPU:/RIP:/Call Trace block follows)
SSHD = """\
[   72.159680] WARNING: /etc/ssh/moduli does not exist, using fixed modulus
"""


def test_user_space_warning_is_no_oops():
    assert parse_log(SSHD) is None
    with pytest.raises(NoOopsError):
        report_from_text(SSHD, "report-76", find_debug_info=False)


def test_log_prefixes_and_line_ends_do_not_change_the_oops():
    """The sample dumps' logs as syslog, journal, console (``<4>``), CRLF and caller-id logs hold them."""
    for c in cases():
        with open(c.dmesg, errors="replace") as f:
            text = f.read()
        want = parse_log(text)
        if want is None:
            continue
        lines = text.splitlines()
        variants = {
            "syslog": "\n".join(f"Jan  1 00:00:00 host kernel: {ln}" for ln in lines),
            "journal": "\n".join(f"kernel: {ln}" for ln in lines),
            "level": "\n".join(f"<4>{ln}" for ln in lines),
            "crlf": "\r\n".join(lines),
            "caller": "\n".join(ln.replace("] ", "][    T1] ", 1) for ln in lines),
            "bare": "\n".join(strip_timestamps(ln) for ln in lines),
        }
        for name, variant in variants.items():
            got = parse_log(variant)
            assert got is not None, (c, name)
            assert (got.title, got.rip_function, got.rip_offset, got.registers, got.code, got.panic) == \
                (want.title, want.rip_function, want.rip_offset, want.registers, want.code, want.panic), (c, name)
            assert [e.function for e in got.trace] == [e.function for e in want.trace], (c, name)


def test_many_title_like_lines_stay_bounded():
    import time

    text = "[    1.000000] BUG: x\n" * 400_000 + "[    1.000000] WARNING: at y\n" * 200_000
    t0 = time.perf_counter()
    assert parse_log(text) is None
    assert time.perf_counter() - t0 < 5


def test_a_dumps_crash_is_its_first_fault_not_an_earlier_hung_task() -> None:
    """A hung-task report printed before the oops (common on a loaded server) is a report of its
    own kind; the dump's crash context takes the fault after it (parse_fault)."""
    from kdumpext.oops import parse_fault

    seed = open(glob.glob(os.path.join(ROOT, "sample-dumps", "scst-null-dev", "*", "dmesg.*"))[0]).read()
    hung = ("[    1.100000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.\n"
            "[    1.100001]       Not tainted 6.1.192 #1\n"
            "[    1.100003] task:kworker/0:1     state:D stack:0     pid:12    ppid:2      flags:0x00004000\n"
            "[    1.100004] Call Trace:\n"
            "[    1.100006]  __schedule+0x2f0/0x900\n"
            "[    1.100007]  schedule+0x5a/0xd0\n"
            "[    1.100008]  io_schedule+0x12/0x40\n")
    at = seed.index("BUG: kernel NULL pointer dereference")
    at = seed.rindex("\n", 0, at) + 1
    text = seed[:at] + hung + seed[at:]
    first = parse_oops(text)
    assert first is not None and first.kind == "hung task"
    fault = parse_fault(text)
    assert fault is not None and not fault.kind
    assert (fault.title, fault.rip_function) == ("BUG: kernel NULL pointer dereference, address: 0000000000000240",
                                                 "scst_update_lat_stats")
    assert parse_fault(hung) is None


# --- reports that are not whole (Oops.damaged) -----------------------------------------


def test_a_report_cut_after_its_title_is_damaged() -> None:
    # syzkaller pkg/report/testdata/linux/report/22: the log ends after the WARNING's first lines
    log = ("[   50.583499] WARNING: CPU: 2 PID: 2636 at ipc/shm.c:162 shm_open.isra.5.part.6+0x74/0x80\n"
           "[   50.583499] Modules linked in: \n")
    oops = parse_oops(log)
    assert oops is not None
    assert oops.damaged == ["the report is cut: no call trace after its title"]
    from kdumpext.oopstriage import report_from_text
    v = report_from_text(log, "22", find_debug_info=False).verdict
    assert v.crash_class == "warning" and v.confidence == "low"
    assert v.undecided.startswith("the report is cut")


def test_another_report_before_this_ones_stack_is_damaged() -> None:
    # syzkaller report/142: a GPF report spliced into a WARNING's empty "Call Trace:"
    log = ("[   95.884027] WARNING: CPU: 1 PID: 18244 at ./arch/x86/include/asm/fpu/internal.h:340 "
           "__switch_to+0x10bd/0x13c0\n"
           "[   95.884034] Kernel panic - not syncing: panic_on_warn set ...\n"
           "[   95.884044] CPU: 1 PID: 18244 Comm: syz-executor5 Not tainted 4.15.0-rc4+ #231\n"
           "[   95.884053] Call Trace:\n"
           "[   95.884288] kasan: CONFIG_KASAN_INLINE enabled\n"
           "[   95.884297] general protection fault: 0000 [#1] SMP KASAN\n"
           "[   95.884314] CPU: 0 PID: 18241 Comm: syz-executor2 Not tainted 4.15.0-rc4+ #231\n"
           "[   95.884328] RIP: 0010:native_write_cr4+0x4/0x10\n"
           "[   95.884363] Call Trace:\n"
           "[   95.884373]  smp_reboot_interrupt+0x3ea/0x510\n")
    oops = parse_oops(log)
    assert oops is not None
    assert oops.damaged == ["the report is interleaved with another report: 'general protection fault: 0000 [#1] "
                            "SMP KASAN' before this one's stack"]


def test_an_arm_trace_that_ends_in_the_reporting_routines_is_cut() -> None:
    # syzkaller report/236: arm's unwinder stops at warn_slowpath_fmt, before the code that warned
    log = ("WARNING: CPU: 0 PID: 2587 at drivers/i2c/i2c-core-base.c:1848 __i2c_transfer+0x310/0x380\n"
           "Kernel panic - not syncing: panic_on_warn set ...\n"
           "CPU: 0 PID: 2587 Comm: syz-executor2 Not tainted 4.17.0-rc1+ #11\n"
           "[<8011218c>] (unwind_backtrace) from [<8010e300>] (show_stack+0x18/0x1c)\n"
           "[<8010e300>] (show_stack) from [<80b12478>] (dump_stack+0xa0/0xc0)\n"
           "[<80b12478>] (dump_stack) from [<801349a8>] (panic+0x104/0x2cc)\n"
           "[<801349a8>] (panic) from [<8013479c>] (warn_slowpath_fmt+0x0/0x5c)\n"
           "[<8013479c>] (warn_slowpath_fmt) from [<00000000>] (  (null))\n"
           "Rebooting in 86400 seconds..\n")
    oops = parse_oops(log)
    assert oops is not None
    assert oops.damaged == ["the call trace is cut: it ends in warn_slowpath_fmt, before any frame past the "
                            "reporting routines"]


def test_another_tasks_stack_mixed_into_the_report_is_damaged() -> None:
    # syzkaller report/336 (shortened): fault injection's dump_stack() runs inside a WARNING's report
    log = ("[  438.340968] FAULT_INJECTION: forcing a failure.\n"
           "[  438.345758] WARNING: CPU: 1 PID: 1798 at lib/debugobjects.c:287 debug_print_object+0x16a/0x250\n"
           "[  438.356954] CPU: 0 PID: 26531 Comm: syz-executor1 Not tainted 4.14.90+ #1\n"
           "[  438.365668] Kernel panic - not syncing: panic_on_warn set ...\n"
           "[  438.372879] Call Trace:\n"
           "[  438.392137]  dump_stack+0x101/0x1b4\n"
           "[  438.400447]  should_fail.cold+0xa/0x10\n"
           "[  438.427757]  should_failslab+0xde/0x140\n"
           "[  438.706637] CPU: 1 PID: 1798 Comm: kworker/1:2 Not tainted 4.14.90+ #1\n"
           "[  438.713307] Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011\n"
           "[  438.727830] Call Trace:\n"
           "[  438.730406]  dump_stack+0x101/0x1b4\n"
           "[  438.743142]  panic+0x1c2/0x3ad\n"
           "[  438.802107] RIP: 0010:debug_print_object+0x16a/0x250\n"
           "[  438.853476]  debug_check_no_obj_freed+0x529/0xaa2\n"
           "[  438.881909]  kfree+0x187/0x2f0\n")
    oops = parse_oops(log)
    assert oops is not None
    assert oops.damaged[0] == ("another task's lines are mixed into the report: 'CPU: 0 PID: 26531' inside "
                               "the report of PID 1798")
    assert oops.damaged[1].startswith("another stack dump is mixed into the call trace: 'Hardware name: ")


def test_a_whole_report_with_user_space_lines_in_its_trace_is_not_damaged() -> None:
    # syzkaller report/172 (shortened): the fuzzer's own untimestamped output inside a KASAN trace
    log = ("[  396.960000] BUG: KASAN: stack-out-of-bounds in memcmp+0xe3/0x160\n"
           "[  396.990000] CPU: 0 PID: 3334 Comm: syz-executor6 Not tainted 4.15.0-rc5+ #240\n"
           "[  396.995841] Call Trace:\n"
           "[  396.998428]  dump_stack+0x194/0x257\n"
           "[  397.002054]  ? arch_local_irq_restore+0x53/0x53\n"
           "2018/01/02 18:20:06 executing program 3:\n"
           "mmap(&(0x7f0000000000/0xa000)=nil, 0xa000, 0x3, 0x32, 0xffffffffffffffff, 0x0)\n"
           "r1 = socket(0x5, 0x0, 0x8001)\n"
           "mmap(&(0x7f000000b000/0x1000)=nil, 0x1000, 0x3, 0x32, 0xffffffffffffffff, 0x0)\n"
           "[  397.010000]  memcmp+0xe3/0x160\n"
           "[  397.020000]  xfrm_selector_match+0x1b0/0x2e0\n")
    oops = parse_oops(log)
    assert oops is not None and oops.damaged == []


def test_a_smashed_stack_panic_is_named_by_its_message() -> None:
    """syzkaller report 320 (even): the stack protector panics with no backtrace to read; the
    message names the function whose canary was smashed (%pB), so the verdict does, with medium
    confidence (no frame confirms it)."""
    log = ("[  678.752880] Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
           "udp4_lib_lookup2+0x7ea/0x7f0\n"
           "[  678.764092] Kernel Offset: disabled\n"
           "[  678.767701] Rebooting in 86400 seconds..\n")
    v = report_from_text(log, "report-320", find_debug_info=False).verdict
    assert (v.crash_class, v.function, v.confidence) == ("panic", "udp4_lib_lookup2", "medium")
    assert v.bucket == "panic:udp4_lib_lookup2"


def test_panic_on_warn_trace_goes_on_after_the_registers() -> None:
    """syzkaller report 374 (even), 5.1 with panic_on_warn: panic()'s trace reaches the trap, the
    exception's RIP, registers and Code: are printed inside it, and the task's own frames follow;
    those are the trace (the frames before the RIP are the reporting path)."""
    log = """[ 2337.316640][    C0] WARNING: CPU: 0 PID: 5915 at kernel/sched/core.c:6136 __might_sleep+0x13a/0x190
[ 2337.326324][    C0] Kernel panic - not syncing: panic_on_warn set ...
[ 2337.332958][    C0] CPU: 0 PID: 5915 Comm: syz-executor.5 Not tainted 5.1.0-rc3-319004-g43151d6 #6
[ 2337.357271][    C0] Call Trace:
[ 2337.363771][    C0]  dump_stack+0xe8/0x16e
[ 2337.373626][    C0]  panic+0x29d/0x5f2
[ 2337.405595][    C0]  __warn.cold+0x20/0x48
[ 2337.414632][    C0]  report_bug+0x262/0x2a0
[ 2337.437946][    C0]  invalid_op+0x14/0x20
[ 2337.442119][    C0] RIP: 0010:__might_sleep+0x13a/0x190
[ 2337.447705][    C0] Code: 65 48 8b 1c 25 00 ee 01 00 48 8d 7b 10 48 89 fe 48 c1 ee 03 80 3c 06 00 75 2b 48 8b 73 10 48 c7 c7 a0 6b 6b 8e e8 76 de f5 ff <0f> 0b e9 46 ff ff ff e8 aa fb 5a 00 e9 29 ff ff ff e8 a0 fb 5a 00
[ 2337.471198][    C0] RSP: 0018:ffff8880ad007b48 EFLAGS: 00010286
[ 2337.477317][    C0] RAX: 0000000000000000 RBX: ffff888098fe6200 RCX: 0000000000000000
[ 2337.519056][    C0]  ? line6_pcm_acquire+0x35/0x210
[ 2337.539151][    C0]  __mutex_lock+0xcd/0x12b0
[ 2337.591937][    C0]  line6_pcm_acquire+0x35/0x210
[ 2337.601937][    C0]  snd_line6_capture_trigger+0x88/0x1c0
"""
    oops = parse_oops(log)
    assert oops is not None and oops.rip_function == "__might_sleep"
    assert [e.function for e in oops.trace if e.reliable] == ["__mutex_lock", "line6_pcm_acquire",
                                                              "snd_line6_capture_trigger"]
    v = report_from_text(log, "report-374", find_debug_info=False).verdict
    assert (v.crash_class, v.blame) == ("warning", "line6_pcm_acquire")


# --- stalls: the code the detector's interrupt interrupted (Oops.interrupted) -------------------

# syzkaller pkg/report/testdata/linux/report/318 (4.4): RCU's check dumps the current task from the
# timer interrupt; the interrupted code's frames follow <EOI>
SYZ_STALL_EOI = """\
[  393.750282] INFO: rcu_sched self-detected stall on CPU
[  393.815239] Call Trace:
[  393.817802]  <IRQ>  [<ffffffff8170cafa>] _sched_show_task+0x31a/0x325
[  393.824517]  [<ffffffff8170d27f>] sched_show_task+0x10/0x12
[  393.830211]  [<ffffffff8170d424>] dump_cpu_task+0x7e/0x83
[  393.835736]  [<ffffffff8171694f>] rcu_dump_cpu_stacks+0x155/0x169
[  393.841950]  [<ffffffff81717294>] rcu_check_callbacks.cold.75+0x61e/0xc77
[  393.854649]  [<ffffffff81512ccf>] update_process_times+0x3f/0x70
[  393.860782]  [<ffffffff8153c1ca>] tick_sched_handle.isra.16+0x5a/0x100
[  393.867430]  [<ffffffff8153c87a>] tick_sched_timer+0x7a/0x130
[  393.911466]  [<ffffffff8151702e>] hrtimer_interrupt+0x18e/0x400
[  393.917506]  [<ffffffff812af344>] local_apic_timer_interrupt+0x74/0x90
[  393.924153]  [<ffffffff81012fba>] smp_trace_apic_timer_interrupt+0x13a/0x4bd
[  393.931325]  [<ffffffff81011d42>] smp_trace_apic_timer_interrupt_entry_after_kaiser_bti+0x20/0x2e
[  393.940311]  <EOI>  [<ffffffff814f00eb>] ? debug_lockdep_rcu_enabled+0x3b/0x90
[  394.076457]  [<ffffffff81085d5c>] kvm_vm_compat_ioctl+0x13c/0x250
[  394.106616]  [<ffffffff819d8ee0>] compat_SyS_ioctl+0x650/0x2180
[  394.178750]  [<ffffffff830a99b0>] sysenter_dispatch+0xf/0x32
"""

# report/292: before 4.9 the marker's line gets the next frame's own timestamp glued after it
SYZ_STALL_GLUED = """\
[  420.341960] INFO: rcu_preempt detected stalls on CPUs/tasks:
[  420.403962] Call Trace:
[  420.406526]  <IRQ> [  420.408595]  [<ffffffff814249f9>] sched_show_task.cold.127+0x1c9/0x279
[  420.415289]  [<ffffffff8143035a>] rcu_check_callbacks.cold.79+0xc70/0xd27
[  420.497210]  [<ffffffff839fe630>] apic_timer_interrupt+0xa0/0xb0
[  420.503332]  <EOI> [  420.505397]  [<ffffffff812da9eb>] ? smp_call_function_single+0x11b/0x360
[  420.518914]  [<ffffffff812da9eb>] smp_call_function_single+0x11b/0x360
[  420.561741]  [<ffffffff812db9ba>] smp_call_function_many+0x57a/0x6a0
"""

# report/502 (5.8): a WARN in RCU's stall check (panic_on_warn), then the registers of the code
# the timer interrupt interrupted, after asm_sysvec_apic_timer_interrupt
SYZ_STALL_WARN_IN_CHECK = """\
[  611.778481][    C1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[  611.803253][    C1] WARNING: CPU: 1 PID: 4737 at kernel/sched/core.c:2698 try_invoke_on_locked_down_task+0x18b/0x320
[  611.815146][    C1] Kernel panic - not syncing: panic_on_warn set ...
[  611.822004][    C1] CPU: 1 PID: 4737 Comm: systemd-timesyn Not tainted 5.8.0-rc3-syzkaller #0
[  611.840748][    C1] Call Trace:
[  611.844041][    C1]  <IRQ>
[  611.847038][    C1]  dump_stack+0x1f0/0x31e
[  611.851537][    C1]  panic+0x264/0x7a0
[  611.872226][    C1]  __warn+0x227/0x250
[  611.900723][    C1] RIP: 0010:try_invoke_on_locked_down_task+0x18b/0x320
[  611.927186][    C1] RSP: 0018:ffffc90000da8c50 EFLAGS: 00010046
[  611.983534][    C1]  rcu_sched_clock_irq+0x12ec/0x1eb0
[  611.993836][    C1]  update_process_times+0x12c/0x180
[  612.019801][    C1]  __sysvec_apic_timer_interrupt+0xf0/0x260
[  612.025733][    C1]  asm_call_on_stack+0xf/0x20
[  612.030407][    C1]  </IRQ>
[  612.033350][    C1]  sysvec_apic_timer_interrupt+0xb9/0x130
[  612.039081][    C1]  asm_sysvec_apic_timer_interrupt+0x12/0x20
[  612.045068][    C1] RIP: 0010:smp_call_function_single+0x311/0x450
[  612.071000][    C1] RSP: 0018:ffffc90001c27be0 EFLAGS: 00000202
[  612.077068][    C1] RAX: 0000000000000000 RBX: 1ffff92000384f81 RCX: ffff888096c1e580
[  612.145958][    C1]  on_each_cpu+0x4d/0x1f0
[  612.150298][    C1]  clock_was_set+0x18/0x20
[  612.185765][    C1]  do_syscall_64+0x73/0xe0
"""


def test_a_stall_is_the_interrupted_code_after_eoi() -> None:
    """4.4's <EOI> trace: the frames after the timer interrupt's entry are the stalled code's."""
    oops = parse_oops(SYZ_STALL_EOI)
    assert oops is not None and oops.kind == "RCU stall"
    # the first reliable frame after the entry: the "? " line before it is a stale stack word
    assert oops.interrupted == 13 and oops.trace[12].function == "debug_lockdep_rcu_enabled"
    assert oops.trace[13].function == "kvm_vm_compat_ioctl"
    assert not oops.rip_foreign and oops.rip_function == ""
    assert [f.function for f in frames_from_oops(oops)] == ["kvm_vm_compat_ioctl", "compat_SyS_ioctl",
                                                             "sysenter_dispatch"]
    r = report_from_text(SYZ_STALL_EOI, "stall.txt", find_debug_info=False)
    assert r.verdict.function == "kvm_vm_compat_ioctl" and r.verdict.blame == ""


def test_a_stall_marker_with_a_glued_timestamp() -> None:
    """`` <IRQ> [ t]  [<a>] f+0x1/0x2``: the frame after the marker is read; the stall is named by
    the smp_call_function family."""
    oops = parse_oops(SYZ_STALL_GLUED)
    assert oops is not None and oops.trace[0].function == "sched_show_task.cold.127"
    assert oops.interrupted == 4 and not oops.trace[3].reliable
    r = report_from_text(SYZ_STALL_GLUED, "stall.txt", find_debug_info=False)
    assert (r.verdict.function, r.verdict.blame) == ("smp_call_function_single", "smp_call_function")


def test_a_stall_warn_in_the_check_gives_way_to_the_interrupted_registers() -> None:
    """The RIP of a WARN inside the detector's path is replaced by the interrupted code's."""
    oops = parse_oops(SYZ_STALL_WARN_IN_CHECK)
    assert oops is not None and oops.kind == "RCU stall"
    assert (oops.rip_function, oops.rip_offset, oops.rip_foreign) == ("smp_call_function_single", 0x311, False)
    assert oops.registers["rsp"] == 0xffffc90001c27be0 and oops.registers["rbx"] == 0x1ffff92000384f81
    assert oops.trace[oops.interrupted or 0].function == "on_each_cpu"
    assert [f.function for f in frames_from_oops(oops)] == ["smp_call_function_single", "on_each_cpu",
                                                             "clock_was_set", "do_syscall_64"]


def test_a_stall_whose_first_stack_has_its_own_registers() -> None:
    """A task blocking RCU printed first with its registers (report/612's shape): a detector's path
    in a later CPU's backtrace does not replace that RIP."""
    text = (SYZ_STALL_WARN_IN_CHECK.split("[  611.803253]")[0]
            + "[  483.633869][    C1] Call Trace:\n"
            "[  483.661116][    C1]  asm_sysvec_apic_timer_interrupt+0x12/0x20\n"
            "[  483.667102][    C1] RIP: 0010:lock_acquire+0x1ef/0x740\n"
            "[  483.753445][    C1]  find_get_pages_range+0x11b/0x890\n"
            + SYZ_STALL_WARN_IN_CHECK.split("Comm: systemd-timesyn Not tainted 5.8.0-rc3-syzkaller #0\n")[1])
    oops = parse_oops(text)
    assert oops is not None and oops.rip_function == "lock_acquire" and oops.interrupted is None


# --- a report cut before its title ---------------------------------------------------------------

# report/96 (4.x): only the register tail, Code: and __die()'s summary line are left
SYZ_CUT_TAIL = """\
[  128.792466] R10: 00000000000f4244 R11: 0000000000000217 R12: 00000000004bbb5d
[  128.792471] R13: 00000000ffffffff R14: 000000000000001a R15: 000000000000001b
[  128.792489] Code: 48 0f 44 da e8 c0 5b c4 ff 48 8b 85 28 ff ff ff 4d 89 f1 4c 89 e9 4c 89 e2 48 89 de 48 c7 c7 20 a3 f1 84 49 89 c0 e8 13 68 ae ff <0f> 0b 48 c7 c0 e0 a0 f1 84 eb 96 48 c7 c0 20 a1 f1 84 eb 8d 48
[  128.792644] RIP: __check_object_size+0x3a2/0x4f0 RSP: ffff8801c15d7148
[  128.792706] ---[ end trace 794afb02691fabdc ]---
[  128.792710] Kernel panic - not syncing: Fatal exception
[  128.793242] Kernel Offset: disabled
"""


def test_a_report_cut_before_its_title_keeps_its_summary_rip() -> None:
    """The summary RIP and Code: before "Fatal exception" give the exception frame; the report is
    marked cut, its registers (maybe the user block's) are not taken."""
    assert parse_oops(SYZ_CUT_TAIL) is None
    oops = parse_log(SYZ_CUT_TAIL)
    assert oops is not None and oops.title == "" and oops.panic == "Fatal exception"
    assert (oops.rip_function, oops.rip_offset) == ("__check_object_size", 0x3a2)
    assert oops.code_fault_index == 43 and oops.code[43:45] == b"\x0f\x0b"
    assert oops.registers == {}
    assert oops.damaged and oops.damaged[0].startswith("the report is cut: its title was lost")
    f = frames_from_oops(oops)
    assert len(f) == 1 and f[0].exception and f[0].function == "__check_object_size"
    r = report_from_text(SYZ_CUT_TAIL, "cut.txt", find_debug_info=False)
    assert r.verdict.confidence == "low" and r.verdict.function == "__check_object_size"
    # 3.x's summary is "RIP  [<addr>] func+off/size"
    old = SYZ_CUT_TAIL.replace("RIP: __check_object_size+0x3a2/0x4f0 RSP: ffff8801c15d7148",
                               "RIP  [<ffffffff81234567>] __check_object_size+0x3a2/0x4f0")
    assert parse_log(old).rip_function == "__check_object_size"  # type: ignore[union-attr]


# --- sanitizer reports: bug type, access, size, address -------------------------------------------

# report/8 (4.15): KASAN since 4.14
SYZ_KASAN = """\
[   51.218853] BUG: KASAN: use-after-free in snd_seq_queue_alloc+0x663/0x690
[   51.218860] Read of size 4 at addr ffff8801d0c6b080 by task syz-executor5/4519
[   51.218862] 
[   51.218868] CPU: 0 PID: 4519 Comm: syz-executor5 Not tainted 4.15.0-rc2+ #214
[   51.218876] Call Trace:
[   51.218885]  dump_stack+0x194/0x257
[   51.218917]  snd_seq_queue_alloc+0x663/0x690
"""

# report/104 (4.9): the address in the title, "Read of size N by task"
SYZ_KASAN_OLD = """\
[   59.541645] BUG: KASAN: slab-out-of-bounds in gup_huge_pmd+0x739/0x770 at addr ffff8800b46111c0
[   59.541648] Write of size 8 by task syz-executor2/9339
[   59.541660] CPU: 1 PID: 9339 Comm: syz-executor2 Not tainted 4.9.0 #1
"""

# report/18 (3.18): an access outside the kernel's memory
SYZ_KASAN_NULL = """\
[23818.431954] BUG: KASAN: null-ptr-deref on address           (null)

[23818.438140] Read of size 4 by task syz-executor/22534

[23818.443211] CPU: 3 PID: 22534 Comm: syz-executor Tainted: G     U         3.18.0 #78
"""

# report/590 (KFENCE): the access in the title and on the next line, the fault's registers after
SYZ_KFENCE = """\
[  221.211609][ T9991] ==================================================================
[  221.219706][ T9991] BUG: KFENCE: use-after-free read in memcmp+0x57/0x150
[  221.219706][ T9991] 
[  221.229282][ T9991] Use-after-free read at 0xffff88823bc8cf68 (in kfence-#69):
[  221.236645][ T9991]  memcpy+0x57/0x150
[  221.236645][ T9991]  find_uprobe+0x57/0x150
[  221.236676][ T9991]  uprobe_apply+0x26/0x130
"""

# report/510 (5.8): KASAN's line in a general protection fault its shadow check made
SYZ_GPF_KASAN = """\
[ 1703.516227][ T2809] general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] PREEMPT SMP KASAN
[ 1703.528051][ T2809] KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]
[ 1703.536428][ T2809] CPU: 0 PID: 2809 Comm: kworker/u4:2 Not tainted 5.8.0-rc3-next-20200703-syzkaller #0
[ 1703.560876][ T2809] RIP: 0010:rb_erase+0xb7/0x1210
"""


@pytest.mark.parametrize("text, facts", [
    (SYZ_KASAN, ("KASAN", "use-after-free", "read", 4, 0xffff8801d0c6b080)),
    (SYZ_KASAN_OLD, ("KASAN", "slab-out-of-bounds", "write", 8, 0xffff8800b46111c0)),
    (SYZ_KASAN_NULL, ("KASAN", "null-ptr-deref", "read", 4, 0)),
    (SYZ_KFENCE, ("KFENCE", "use-after-free", "read", None, 0xffff88823bc8cf68)),
    (SYZ_GPF_KASAN, ("KASAN", "null-ptr-deref", "", None, 0x10)),
    # mm/kfence/report.c's format with a %p-hashed pointer: no address
    ("BUG: KFENCE: out-of-bounds write in test_out_of_bounds_write+0x6a/0x140\n\n"
     "Out-of-bounds write at 0x000000006be4ea1e (1B left of kfence-#29):\n", ("KFENCE", "out-of-bounds", "write", None, None)),
    ("BUG: KASAN: double-free in kfree+0x3c/0x60\nFree of addr ffff888012345600 by task syz/1\n",
     ("KASAN", "double-free", "", None, 0xffff888012345600)),
], ids=["kasan", "kasan-4.9", "kasan-3.18-null", "kfence", "gpf-kasan-line", "kfence-hashed", "kasan-free"])
def test_sanitizer_facts(text: str, facts: tuple) -> None:
    """The sanitizer, its bug type as printed, the access, its size and the address it printed;
    the fault address is not set from them."""
    oops = parse_oops(text)
    assert oops is not None
    assert (oops.sanitizer, oops.sanitizer_bug, oops.sanitizer_access, oops.sanitizer_size,
            oops.sanitizer_address) == facts
    if not oops.title.startswith("general protection"):
        assert oops.fault_address is None


# report/634 (KMSAN): the stack right after the title, no "Call Trace:"
SYZ_KMSAN = """\
[  600.168788][ T9046] BUG: KMSAN: kernel-infoleak in _copy_to_user+0x1c9/0x270
[  600.176027][ T9046]  _copy_to_user+0x1c9/0x270
[  600.180651][ T9046]  urandom_read_nowarn+0x57b/0xb10
[  600.185814][ T9046]  __x64_sys_getrandom+0x34a/0x460
[  600.201384][ T9046] 
[  600.203707][ T9046] Uninit was stored to memory at:
[  600.208784][ T9046]  chacha_permute+0x12db/0x1400
"""

# report/472 (KASAN in a timer's softirq): the registers after </IRQ> are the idle loop's
SYZ_KASAN_IN_IRQ = """\
[   50.509230][    C1] BUG: KASAN: use-after-free in pn533_send_complete.cold+0x47/0x6c
[   50.517125][    C1] Read of size 8 at addr ffff8881d411fca8 by task swapper/1/0
[   50.526862][    C1] CPU: 1 PID: 0 Comm: swapper/1 Not tainted 5.4.0-rc1+ #0
[   50.543975][    C1] Call Trace:
[   50.547234][    C1]  <IRQ>
[   50.550069][    C1]  dump_stack+0xca/0x13e
[   50.594031][    C1]  kasan_report+0xe/0x20
[   50.598251][    C1]  pn533_send_complete.cold+0x47/0x6c
[   50.603601][    C1]  __usb_hcd_giveback_urb+0x1f2/0x470
[   50.715148][    C1]  irq_exit+0x178/0x1a0
[   50.719288][    C1]  smp_apic_timer_interrupt+0x12f/0x500
[   50.724805][    C1]  apic_timer_interrupt+0xf/0x20
[   50.729713][    C1]  </IRQ>
[   50.732640][    C1] RIP: 0010:default_idle+0x28/0x2e0
[   50.757500][    C1] RSP: 0018:ffff8881da217dc8 EFLAGS: 00000246 ORIG_RAX: ffffffffffffff13
[   50.810959][    C1]  do_idle+0x3b6/0x500
"""


def test_kmsan_stack_without_call_trace_line() -> None:
    """KMSAN's stack is read from the line after its title; the uaccess routine's caller is blamed."""
    oops = parse_oops(SYZ_KMSAN)
    assert oops is not None and [e.function for e in oops.trace][:3] == ["_copy_to_user", "urandom_read_nowarn",
                                                                          "__x64_sys_getrandom"]
    r = report_from_text(SYZ_KMSAN, "kmsan.txt", find_debug_info=False)
    assert (r.verdict.function, r.verdict.blame) == ("_copy_to_user", "urandom_read_nowarn")


def test_a_kasan_report_has_no_registers_of_its_own() -> None:
    """The RIP after </IRQ> is the interrupted idle loop's: kept, marked foreign, no exception frame;
    the trace goes on past it and the verdict is the function KASAN names."""
    oops = parse_oops(SYZ_KASAN_IN_IRQ)
    assert oops is not None and (oops.rip_function, oops.rip_foreign) == ("default_idle", True)
    assert [e.function for e in oops.trace][-2:] == ["apic_timer_interrupt", "do_idle"]
    f = frames_from_oops(oops)
    assert not any(x.exception for x in f) and f[0].function == "dump_stack"
    r = report_from_text(SYZ_KASAN_IN_IRQ, "kasan.txt", find_debug_info=False)
    assert r.verdict.function == "pn533_send_complete.cold"


# report/254 (4.4): khungtaskd's NMI backtraces after the hung tasks' stacks
SYZ_HUNG_BACKTRACE = """\
[  962.377725] INFO: task init:2293 blocked for more than 120 seconds.
[  962.377769] Call Trace:
[  962.377783]  [<ffffffff82a9df9c>] schedule+0x7c/0x1b0
[  962.377825]  [<ffffffff82aab9b0>] __down+0x130/0x250
[  962.379158] Sending NMI to all CPUs:
[  962.380406] NMI backtrace for cpu 0
[  962.380408] CPU: 0 PID: 2285 Comm: syz-executor491 Not tainted 4.4.132+ #53
[  962.380418] RIP: 0010:[<ffffffff81f014b0>]  [<ffffffff81f014b0>] io_serial_in+0x70/0x90
[  962.380756] Kernel panic - not syncing: hung_task: blocked tasks
"""


def test_a_hung_tasks_backtrace_rip_is_another_cpus() -> None:
    """The first kernel RIP of the NMI backtraces is read, marked foreign: the verdict stays the
    hung task's, and the panic line after it is still read."""
    oops = parse_oops(SYZ_HUNG_BACKTRACE)
    assert oops is not None and oops.kind == "hung task"
    assert (oops.rip_function, oops.rip_foreign) == ("io_serial_in", True)
    assert oops.panic == "hung_task: blocked tasks"
    assert not any(f.exception for f in frames_from_oops(oops))


def test_hung_task_report_ends_at_its_held_locks():
    """syzkaller report 254 (4.4): after the blocked task's stack the detector lists its locks
    ("1 lock held by init/2293:") and sched_show_task() shows other tasks ("task  PC stack  pid
    father"): those stacks are not the report's.  The title names the task (init)."""
    path = os.path.join(os.path.dirname(__file__), "fixtures", "syzkaller", "report-254")
    with open(path, encoding="utf-8", errors="replace") as f:
        log = f.read().split("\n\n", 1)[1]
    oops = parse_oops(log)
    assert oops is not None and oops.kind == "hung task" and oops.comm == "init"
    names = [e.function for e in oops.trace if e.reliable]
    assert names[0] == "schedule" and names[-1] == "entry_SYSCALL_64_fastpath"
    assert names.count("schedule") == 1 and len(names) == 15
