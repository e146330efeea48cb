import { describe, expect, it } from 'vitest';

import type { OciSeccomp } from '../../oci/index.js';

import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import {
  kernelAtLeast,
  missingArchesFromConfig,
  parseSecurityOpt,
  seccompFromProfile,
} from './seccomp.js';

const ctx = { capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '6.1.0' };
const allowed = (s: OciSeccomp, name: string) =>
  s.syscalls!.filter((r) => r.names.includes(name) && r.action === 'SCMP_ACT_ALLOW');

describe('default seccomp profile', () => {
  const s = seccompFromProfile(DEFAULT_SECCOMP_PROFILE, ctx)!;

  it('is an allowlist answering EPERM, for x86_64 and its 32-bit ABIs', () => {
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(allowed(s, 'read')).toHaveLength(1);
    expect(allowed(s, 'mount')).toHaveLength(0);
    expect(allowed(s, 'reboot')).toHaveLength(0);
  });

  it('leaves out the sub-architectures the kernel cannot run', () => {
    const pruned = seccompFromProfile(DEFAULT_SECCOMP_PROFILE, {
      ...ctx,
      missingArches: ['SCMP_ARCH_X32'],
    })!;
    expect(pruned.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    expect(pruned.syscalls).toEqual(s.syscalls);
  });

  it('reads missing sub-architectures from a kernel config', () => {
    const base = 'CONFIG_X86_64=y\nCONFIG_SECCOMP=y\n';
    expect(
      missingArchesFromConfig(`${base}CONFIG_IA32_EMULATION=y\n# CONFIG_X86_X32_ABI is not set\n`),
    ).toEqual(['SCMP_ARCH_X32']);
    expect(
      missingArchesFromConfig(`${base}CONFIG_IA32_EMULATION=y\nCONFIG_X86_X32_ABI=y\n`),
    ).toEqual([]);
    expect(missingArchesFromConfig(base)).toEqual(['SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    // Not an x86_64 kernel config: nothing is assumed missing.
    expect(missingArchesFromConfig('CONFIG_ARM64=y\n')).toEqual([]);
  });

  it('keeps amd64 rules and drops other architectures', () => {
    expect(allowed(s, 'arch_prctl')).toHaveLength(1);
    expect(allowed(s, 'modify_ldt')).toHaveLength(1);
    expect(allowed(s, 'set_tls')).toHaveLength(0);
    const arm = seccompFromProfile(DEFAULT_SECCOMP_PROFILE, { ...ctx, arch: 'arm64' })!;
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm, 'arch_prctl')).toHaveLength(0);
    expect(allowed(arm, 'set_tls')).toHaveLength(1);
  });

  it('restricts clone flags and answers ENOSYS for clone3 without CAP_SYS_ADMIN', () => {
    const clone = allowed(s, 'clone');
    expect(clone).toHaveLength(1);
    expect(clone[0]!.args).toEqual([
      { index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
    expect(s.syscalls!.find((r) => r.names.includes('clone3'))).toMatchObject({
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    });
  });

  it('opens namespace syscalls with CAP_SYS_ADMIN', () => {
    const admin = seccompFromProfile(DEFAULT_SECCOMP_PROFILE, {
      ...ctx,
      capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
    })!;
    expect(allowed(admin, 'mount')).toHaveLength(1);
    expect(allowed(admin, 'clone')[0]!.args).toBeUndefined();
    expect(
      admin.syscalls!.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'),
    ).toBe(false);
  });

  it('filters personality arguments and blocks AF_VSOCK sockets', () => {
    expect(allowed(s, 'personality').map((r) => r.args![0]!.value)).toEqual([
      0, 8, 0x20000, 0x20008, 0xffffffff,
    ]);
    expect(allowed(s, 'socket').map((r) => [r.args![0]!.op, r.args![0]!.value])).toEqual([
      ['SCMP_CMP_LT', 38],
      ['SCMP_CMP_EQ', 39],
      ['SCMP_CMP_GT', 40],
    ]);
  });

  it('compares kernel versions', () => {
    expect(kernelAtLeast('6.18.44-fc', '4.8')).toBe(true);
    expect(kernelAtLeast('4.4.0', '4.8')).toBe(false);
  });
});

describe('parseSecurityOpt', () => {
  it('defaults to the builtin profile', () => {
    expect(parseSecurityOpt(undefined)).toEqual({
      noNewPrivileges: false,
      seccomp: 'default',
      label: [],
    });
  });

  it('parses Docker spellings', () => {
    const r = parseSecurityOpt([
      'no-new-privileges',
      'seccomp=unconfined',
      'label=disable',
      'apparmor=docker-default',
    ]);
    expect(r).toMatchObject({
      noNewPrivileges: true,
      seccomp: 'unconfined',
      label: ['disable'],
      apparmor: 'docker-default',
    });
    expect(parseSecurityOpt(['no-new-privileges:true']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpt(['no-new-privileges=false']).noNewPrivileges).toBe(false);
    expect(parseSecurityOpt(['label:disable']).label).toEqual(['disable']);
  });

  it('takes a profile as JSON text and converts it', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { name: 'mkdir', action: 'SCMP_ACT_ERRNO' },
        {
          names: ['chmod'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 13,
          includes: { caps: ['CAP_SYS_ADMIN'] },
        },
      ],
    };
    const r = parseSecurityOpt([`seccomp=${JSON.stringify(profile)}`]);
    expect(typeof r.seccomp).toBe('object');
    const s = seccompFromProfile(r.seccomp as Exclude<typeof r.seccomp, string>, ctx)!;
    expect(s).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
  });

  it("rejects bad options with Docker's messages", () => {
    expect(() => parseSecurityOpt(['bogus'])).toThrow('invalid --security-opt 1: "bogus"');
    expect(() => parseSecurityOpt(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
    expect(() => parseSecurityOpt(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2');
    expect(() => parseSecurityOpt(['seccomp={not json'])).toThrow(
      /^Decoding seccomp profile failed/,
    );
  });
});
