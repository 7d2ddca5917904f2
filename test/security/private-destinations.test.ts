import { classifyAddress, classifyHost } from '../../src/security/private-destinations';
import { webhookUrlProblem } from '../../src/config/webhook-url-rules';

describe('classifyAddress: the addresses a webhook host resolves to', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.168.0.1', '192.168.0.0/16'],
    ['100.100.100.200', '100.64.0.0/10'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['0.0.0.0', '0.0.0.0/8'],
    ['fd00:ec2::254', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['::', ':: (unspecified)'],
    ['::ffff:a9fe:a9fe', '169.254.0.0/16 (link-local, cloud metadata), carried in IPv4-mapped'],
    ['::ffff:10.0.0.1', '10.0.0.0/8 (private, RFC 1918), carried in IPv4-mapped'],
    ['64:ff9b::a00:1', '10.0.0.0/8 (private, RFC 1918), carried in NAT64'],
    ['64:ff9b:1::a9fe:a9fe', '64:ff9b:1::/48'],
    ['2002:a9fe:a9fe::1', '169.254.0.0/16 (link-local, cloud metadata), carried in 6to4'],
    ['2002:c0a8:0101::', '192.168.0.0/16 (private, RFC 1918), carried in 6to4'],
  ])('refuses %s (%s)', (address, range) => {
    const found = classifyAddress(address);
    expect(found.kind).toBe('private');
    expect(found.kind === 'private' ? found.range : '').toContain(range);
  });

  it.each(['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1'])('classes %s as loopback', (address) => {
    expect(classifyAddress(address)).toEqual({ kind: 'loopback' });
  });

  it.each(['8.8.8.8', '93.184.216.34', '100.63.255.255', '100.128.0.1', '2606:4700::1111', '64:ff9b::808:808', '2002:0808:0808::1'])('lets the public address %s through', (address) => {
    expect(classifyAddress(address)).toEqual({ kind: 'public' });
  });

  it('refuses what is not an IP address at all', () => {
    expect(classifyAddress('not-an-ip').kind).toBe('private');
  });
});

describe('classifyHost: what a URL host says about itself', () => {
  it.each(['hooks.example.com', 'hooks.slack.com', '8.8.8.8.nip.io', 'deadbeef.ngrok.io'])('leaves the ordinary name %s to resolution', (host) => {
    expect(classifyHost(host)).toEqual({ kind: 'name' });
  });

  it.each(['METADATA.GOOGLE.INTERNAL.', 'instance-data', 'metadata', '169.254.169.254.nip.io', '10-0-0-1.sslip.io', 'printer.local'])('refuses %s', (host) => {
    expect(classifyHost(host).kind).toBe('private');
  });

  it('reads the other spellings of an IPv4 address the URL parser turns into dotted form', () => {
    for (const url of ['https://2852039166/', 'https://0xa9fea9fe/', 'https://0251.0376.0251.0376/']) {
      expect(webhookUrlProblem(url)).toMatch(/169\.254\.0\.0\/16/);
    }
  });
});
