/**
 * `npm run bench -- --perf` sorts perf samples into categories; these check the sorting on
 * stacks shaped like the ones perf records from the two servers (innermost frame first).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, splitSamples, splitTable } from '../bench/perf-split.js';

const K = (sym: string): string => `${sym} ([kernel.kallsyms])`;
const NODE = (sym: string): string => `${sym} (/usr/bin/node)`;
const SQLITE = (sym: string): string => `${sym} (/x/node_modules/better-sqlite3/build/Release/better_sqlite3.node)`;
const LIBC = (sym: string): string => `${sym} (/usr/lib/x86_64-linux-gnu/libc.so.6)`;
const JS = (name: string): string => `JS:*${name} file:///x/src/a.ts:1:1 (/tmp/perf-123.map)`;

describe('bench perf split', () => {
  it('puts a socket write in the kernel with the writes, whoever called it', () => {
    const stack = [
      K('_raw_spin_unlock_irqrestore'), K('sock_def_readable'), K('tcp_v4_rcv'), K('tcp_sendmsg'),
      K('sock_write_iter'), K('vfs_writev'), K('do_syscall_64'), LIBC('writev'), NODE('uv__write'), JS('flushAll'),
    ];
    assert.equal(classify(stack), 'socket writes (kernel)');
    // In the system call's exit path the kernel frames do not say which call it was: the caller does.
    assert.equal(classify([K('exit_to_user_mode_loop'), K('do_syscall_64'), NODE('uv_try_write'), JS('writeGeneric')]), 'socket writes (kernel)');
  });

  it("counts SQLite's WAL writes and locks as file system calls, not socket writes", () => {
    const pwrite = [K('copy_folio_from_iter_atomic'), K('ext4_buffered_write_iter'), K('vfs_write'), K('do_syscall_64'), LIBC('__libc_pwrite'), SQLITE('walWriteOneFrame'), SQLITE('sqlite3VdbeExec'), SQLITE('Statement::JS_run'), JS('writeBatch')];
    assert.equal(classify(pwrite), 'file system calls (kernel)');
    const lock = [K('posix_lock_inode'), K('fcntl_setlk'), K('do_syscall_64'), LIBC('__fcntl64_nocancel_adjusted'), SQLITE('unixLock')];
    assert.equal(classify(lock), 'file system calls (kernel)');
  });

  it('tells the event loop waiting and socket reads apart', () => {
    assert.equal(classify([K('ep_poll'), K('do_epoll_wait'), K('do_syscall_64'), LIBC('epoll_pwait'), NODE('uv__io_poll')]), 'waiting for events (kernel)');
    assert.equal(classify([K('tcp_recvmsg'), K('sock_read_iter'), K('vfs_read'), LIBC('read'), NODE('uv__read')]), 'socket reads (kernel)');
    assert.equal(classify([K('asm_exc_page_fault'), NODE('v8::internal::Heap::AllocateRaw')]), 'other kernel');
  });

  it('charges library code to the SQLite code or the binding that called it', () => {
    assert.equal(classify([SQLITE('sqlite3BtreeIndexMoveto'), SQLITE('sqlite3VdbeExec'), SQLITE('Statement::JS_run'), JS('writeBatchInTx')]), 'SQLite');
    assert.equal(classify([LIBC('__memcmp_evex_movbe'), SQLITE('vdbeRecordCompareString'), SQLITE('Statement::JS_run'), JS('writeBatchInTx')]), 'SQLite');
    assert.equal(classify([NODE('v8::Object::Set'), SQLITE('Statement::JS_run'), NODE('Builtins_CallApiCallback'), JS('writeBatchInTx')]), 'better-sqlite3 bindings');
    assert.equal(classify([SQLITE('Binder::Bind'), SQLITE('Statement::JS_run'), JS('writeBatchInTx')]), 'better-sqlite3 bindings');
  });

  it('separates optimised JavaScript, the runtime under it, collection and compilation', () => {
    assert.equal(classify([JS('deliverAll'), JS('toRoom')]), 'JavaScript (optimised code)');
    assert.equal(classify(['RegExp:\\s+$ (/tmp/perf-123.map)', JS('normalise')]), 'JavaScript (optimised code)');
    assert.equal(classify([NODE('Builtins_LoadIC'), JS('sendMessage')]), 'V8 and Node runtime');
    assert.equal(classify([NODE('v8::internal::Scavenger::ScavengeObject'), NODE('v8::internal::Heap::Scavenge')]), 'garbage collection');
    assert.equal(classify([NODE('v8::internal::compiler::GraphReducer::ReduceTop'), NODE('v8::internal::compiler::PipelineImpl::Run')]), 'JIT compilation');
    assert.equal(classify([NODE('uv__io_poll'), NODE('uv_run')]), 'V8 and Node runtime');
  });

  it('splits perf script output by thread: the main thread is the one whose tid is the pid', async () => {
    const text = [
      '  123   10.000100: ',
      '\t    7f00aa JS:*deliverAll file:///x/src/hub.ts:1:1 (/tmp/perf-123.map)',
      '\t    7f00ab JS:*toRoom file:///x/src/hub.ts:1:1 (/tmp/perf-123.map)',
      '',
      '  123   10.000200: ',
      '\tffffffff8207 tcp_sendmsg+0x1b ([kernel.kallsyms])',
      '\tffffffff8208 sock_write_iter+0x2c ([kernel.kallsyms])',
      '',
      '  130   10.000300: ',
      '\t    1017aa4 v8::internal::ConcurrentMarking::RunMajor+0x84 (/usr/bin/node)',
      '',
      '  131   10.000400: ',
      '\t    1aa sqlite3Fts5HashWrite+0x10 (/x/better_sqlite3.node)',
      '',
    ].join('\n').split('\n');
    const split = await splitSamples(text, 123);
    assert.equal(split.total, 4);
    assert.deepEqual([...split.main], [['JavaScript (optimised code)', 1], ['socket writes (kernel)', 1]]);
    assert.deepEqual([...split.helpers], [['garbage collection', 1], ['SQLite', 1]]);

    const table = splitTable('(c) measured slices', [{ name: 'parley', split }, { name: 'reference', split: { main: new Map([['socket writes (kernel)', 3]]), helpers: new Map(), total: 3 } }]);
    assert.match(table, /^\| \(c\) measured slices \| parley samples \| % \| reference samples \| % \|/);
    assert.match(table, /\| main thread: socket writes \(kernel\) \| 1 \| 25\.0 \| 3 \| 100\.0 \|/);
    assert.match(table, /\| other threads: SQLite \| 1 \| 25\.0 \| 0 \| 0\.0 \|/);
    assert.match(table, /\| \*\*all\*\* \| 4 \| 100 \| 3 \| 100 \|/);
    assert.doesNotMatch(table, /waiting for events/, 'categories with no samples on either side are left out');
  });
});
