import {
  arr,
  at,
  type Errors,
  isDNS1123Label,
  isHTTPProtocol,
  isIPAddress,
  isKnownProtocol,
  isTLSProtocol,
  num,
  type Obj,
  obj,
  str,
  strs,
  UNIX_PREFIX,
  validateExportTo,
  validateFQDN,
  validateIPAddress,
  validateIPSubnet,
  validateLabels,
  validatePort,
  validatePortName,
  validateProtocol,
  validateUnixAddress,
  validateWildcardDomain,
} from './common.js';

/** Checks a normalized Gateway spec; `name` is the Gateway's metadata.name. */
export function checkGateway(gw: Obj, name: string, e: Errors): void {
  if (!isDNS1123Label(name)) e.add(undefined, `invalid gateway name: "${name}"`);
  const servers = arr(gw.servers).map((s) => obj(s) ?? {});
  if (servers.length === 0) e.add('servers', 'gateway must have at least one server');
  servers.forEach((s, i) => {
    checkServer(s, at('servers', i), e);
  });
  const names = new Set<string>();
  servers.forEach((s, i) => {
    const port = obj(s.port);
    if (!port) return;
    const portName = str(port.name);
    if (names.has(portName)) {
      e.add(at(at('servers', i), 'port'), `port names in servers must be unique: duplicate name ${portName}`);
    }
    names.add(portName);
  });
}

function checkServer(s: Obj, path: string, e: Errors): void {
  const hosts = strs(s.hosts);
  if (hosts.length === 0) e.add(at(path, 'hosts'), 'server config must contain at least one host');
  hosts.forEach((h, i) => {
    for (const msg of namespaceSlashHostErrors(h, true)) e.add(at(at(path, 'hosts'), i), msg);
  });
  const port = obj(s.port);
  const before = e.list.length;
  checkServerPort(port, at(path, 'port'), e);
  const portOk = e.list.length === before;
  checkServerBind(port, str(s.bind), at(path, 'bind'), e);
  const tls = obj(s.tls);
  checkServerTLS(tls, at(path, 'tls'), e);
  if (!portOk || !port) return;
  const protocol = str(port.protocol);
  if (isTLSProtocol(protocol) && !tls) {
    e.add(path, 'server must have TLS settings for HTTPS/TLS protocols');
  } else if (!isTLSProtocol(protocol) && tls) {
    if (!isHTTPProtocol(protocol)) {
      e.add(at(path, 'tls'), 'server cannot have TLS settings for non HTTPS/TLS ports');
    } else if ((tls.mode ?? 'PASSTHROUGH') !== 'PASSTHROUGH' || hasCertFields(tls)) {
      e.add(at(path, 'tls'), 'server cannot have TLS settings for plain text HTTP ports');
    }
  }
}

const hasCertFields = (tls: Obj): boolean =>
  str(tls.caCertificates) !== '' || str(tls.privateKey) !== '' || str(tls.serverCertificate) !== '';

function portText(port: Obj): string {
  const parts = [];
  if (num(port.number)) parts.push(`number:${num(port.number)}`);
  if (str(port.protocol)) parts.push(`protocol:${JSON.stringify(str(port.protocol))}`);
  return parts.join(' ');
}

function checkServerPort(port: Obj | undefined, path: string, e: Errors): void {
  if (!port) {
    e.add(path, 'port is required');
    return;
  }
  const protocol = str(port.protocol);
  if (!isKnownProtocol(protocol)) {
    e.add(
      at(path, 'protocol'),
      `invalid protocol "${protocol}", supported protocols are HTTP, HTTP2, GRPC, MONGO, REDIS, MYSQL, TCP`,
    );
  }
  if (num(port.number) > 0) e.add(at(path, 'number'), validatePort(num(port.number)));
  if (str(port.name) === '') e.add(at(path, 'name'), `port name must be set: ${portText(port)}`);
}

function checkServerBind(port: Obj | undefined, bind: string, path: string, e: Errors): void {
  if (bind.startsWith(UNIX_PREFIX)) {
    e.add(path, validateUnixAddress(bind.slice(UNIX_PREFIX.length)));
    if (port && num(port.number) !== 0) {
      e.add(path, `port number must be 0 for unix domain socket: ${portText(port)}`);
    }
  } else if (bind !== '') {
    e.add(path, validateIPAddress(bind));
  }
}

function checkServerTLS(tls: Obj | undefined, path: string, e: Errors): void {
  if (!tls) return;
  const mode = str(tls.mode) || 'PASSTHROUGH';
  if (mode === 'ISTIO_MUTUAL') {
    if (str(tls.serverCertificate)) e.add(path, 'ISTIO_MUTUAL TLS cannot have associated server certificate');
    if (str(tls.privateKey)) e.add(path, 'ISTIO_MUTUAL TLS cannot have associated private key');
    if (str(tls.caCertificates)) e.add(path, 'ISTIO_MUTUAL TLS cannot have associated CA bundle');
    return;
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && str(tls.credentialName) !== '') return;
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return;
  if (!str(tls.serverCertificate)) e.add(path, `${mode} TLS requires a server certificate`);
  if (!str(tls.privateKey)) e.add(path, `${mode} TLS requires a private key`);
  if (mode === 'MUTUAL' && !str(tls.caCertificates)) e.add(path, 'MUTUAL TLS requires a client CA bundle');
}

/** Gateway server hosts and Sidecar egress hosts: "[namespace/]dnsName" (namespace required for sidecars). */
export function namespaceSlashHostErrors(hostname: string, isGateway: boolean): string[] {
  const slash = hostname.indexOf('/');
  if (slash < 0) {
    return isGateway ? hostnamePartErrors(hostname, true) : ['host must be of form namespace/dnsName'];
  }
  const [ns, dns] = [hostname.slice(0, slash), hostname.slice(slash + 1)];
  if (ns === '' || dns === '') return ['config namespace and dnsName in host entry cannot be empty'];
  const out: string[] = [];
  const special = isGateway ? ['*', '.'] : ['*', '.', '~'];
  if (!special.includes(ns) && !isDNS1123Label(ns)) {
    out.push(`invalid namespace value "${ns}" in ${isGateway ? 'gateway' : 'sidecar'}`);
  }
  return [...out, ...hostnamePartErrors(dns, isGateway)];
}

function hostnamePartErrors(hostname: string, isGateway: boolean): string[] {
  const out: string[] = [];
  if (hostname !== '*' && !hostname.includes('.')) out.push('short names (non FQDN) are not allowed');
  const err = validateWildcardDomain(hostname);
  if (err && !(isGateway && isIPAddress(hostname))) out.push(err);
  return out;
}

/** Checks a normalized ServiceEntry spec. */
export function checkServiceEntry(se: Obj, e: Errors): void {
  const hosts = strs(se.hosts);
  if (hosts.length === 0) e.add('hosts', 'service entry must have at least one host');
  hosts.forEach((h, i) => {
    e.add(at('hosts', i), h === '*' ? `invalid host ${h}` : validateWildcardDomain(h));
  });
  let cidrFound = false;
  strs(se.addresses).forEach((a, i) => {
    cidrFound ||= a.includes('/');
    e.add(at('addresses', i), validateIPSubnet(a));
  });
  const ports = arr(se.ports).map((p) => obj(p) ?? {});
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  ports.forEach((p, i) => {
    const [name, number] = [str(p.name), num(p.number)];
    if (portNames.has(name))
      e.add(at(at('ports', i), 'name'), `service entry port name "${name}" already defined`);
    if (portNumbers.has(number))
      e.add(at(at('ports', i), 'number'), `service entry port ${number} already defined`);
    portNames.add(name);
    portNumbers.add(number);
  });
  const resolution = str(se.resolution) || 'NONE';
  checkResolution(se, resolution, hosts, portNames, cidrFound, e);
  if (resolution !== 'NONE' && hosts.length > 1) {
    const protocols = ports.map((p) => str(p.protocol));
    if (protocols.some((p) => !isHTTPProtocol(p) && !isTLSProtocol(p))) {
      e.add('hosts', 'multiple hosts provided with non-HTTP, non-TLS ports');
    }
  }
  ports.forEach((p, i) => {
    const path = at('ports', i);
    e.add(at(path, 'name'), validatePortName(str(p.name)));
    e.add(at(path, 'protocol'), validateProtocol(str(p.protocol)));
    e.add(at(path, 'number'), validatePort(num(p.number)));
  });
  e.add('exportTo', validateExportTo(se.exportTo));
}

function checkResolution(
  se: Obj,
  resolution: string,
  hosts: string[],
  portNames: Set<string>,
  cidr: boolean,
  e: Errors,
): void {
  const endpoints = arr(se.endpoints).map((ep) => obj(ep) ?? {});
  if (resolution === 'NONE' && endpoints.length !== 0) {
    e.add('endpoints', 'no endpoints should be provided for resolution type none');
  }
  if (resolution === 'STATIC') {
    if (endpoints.length === 0)
      e.add('endpoints', 'endpoints must be provided if service entry resolution mode is static');
    let unix = false;
    endpoints.forEach((ep, i) => {
      const path = at('endpoints', i);
      const addr = str(ep.address);
      if (addr.startsWith(UNIX_PREFIX)) {
        unix = true;
        e.add(at(path, 'address'), validateUnixAddress(addr.slice(UNIX_PREFIX.length)));
        if (Object.keys(obj(ep.ports) ?? {}).length > 0)
          e.add(at(path, 'ports'), `unix endpoint ${addr} must not include ports`);
      } else {
        e.add(at(path, 'address'), validateIPAddress(addr));
        checkEndpointPorts(ep, portNames, path, e);
      }
      for (const msg of validateLabels(ep.labels)) e.add(at(path, 'labels'), msg);
    });
    if (unix && portNames.size !== 1) e.add('ports', 'exactly 1 service port required for unix endpoints');
  }
  if (resolution === 'DNS') {
    if (cidr) e.add('addresses', 'CIDR addresses are allowed only for NONE/STATIC resolution types');
    if (endpoints.length === 0 && hosts.some((h) => validateFQDN(h) !== undefined)) {
      e.add('hosts', 'hosts must be FQDN if no endpoints are provided for resolution mode DNS');
    }
    endpoints.forEach((ep, i) => {
      const path = at('endpoints', i);
      e.add(at(path, 'address'), validateFQDN(str(ep.address)));
      for (const msg of validateLabels(ep.labels)) e.add(at(path, 'labels'), msg);
      checkEndpointPorts(ep, portNames, path, e);
    });
  }
}

function checkEndpointPorts(ep: Obj, portNames: Set<string>, path: string, e: Errors): void {
  for (const [name, port] of Object.entries(obj(ep.ports) ?? {})) {
    const p = at(at(path, 'ports'), name);
    if (!portNames.has(name)) e.add(p, `endpoint port ${name} is not defined by the service entry`);
    e.add(p, validatePortName(name));
    e.add(p, validatePort(num(port)));
  }
}
