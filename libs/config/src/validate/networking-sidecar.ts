import {
  arr,
  at,
  type Errors,
  num,
  type Obj,
  obj,
  str,
  strs,
  UNIX_PREFIX,
  validateIPAddress,
  validatePort,
  validatePortName,
  validateProtocol,
  validateUnixAddress,
  validateWorkloadSelectorLabels,
} from './common.js';
import { namespaceSlashHostErrors } from './networking-gateway.js';

/** Checks a normalized Sidecar spec. */
export function checkSidecar(sc: Obj, e: Errors): void {
  const selector = validateWorkloadSelectorLabels(obj(sc.workloadSelector)?.labels);
  if (selector.length > 0) {
    for (const msg of selector) e.add('workloadSelector.labels', msg);
    return;
  }
  const egress = arr(sc.egress).map((x) => obj(x) ?? {});
  if (egress.length === 0) {
    e.add('egress', 'sidecar: missing egress');
    return;
  }
  checkIngress(
    arr(sc.ingress).map((x) => obj(x) ?? {}),
    e,
  );
  checkEgress(egress, e);
}

function checkIngress(ingress: Obj[], e: Errors): void {
  const ports = new Set<number>();
  ingress.forEach((l, i) => {
    const path = at('ingress', i);
    const port = obj(l.port);
    if (!port) {
      e.add(path, 'sidecar: port is required for ingress listeners');
      return;
    }
    checkPortBindCapture(port, str(l.bind), str(l.captureMode) || 'DEFAULT', path, e);
    if (ports.has(num(port.number)))
      e.add(at(path, 'port'), 'sidecar: ports on IP bound listeners must be unique');
    ports.add(num(port.number));
    checkDefaultEndpoint(str(l.defaultEndpoint), at(path, 'defaultEndpoint'), e);
  });
}

function checkDefaultEndpoint(ep: string, path: string, e: Errors): void {
  if (ep === '') {
    e.add(path, 'sidecar: default endpoint must be set for all ingress listeners');
    return;
  }
  if (ep.startsWith(UNIX_PREFIX)) {
    e.add(path, validateUnixAddress(ep.slice(UNIX_PREFIX.length)));
    return;
  }
  const parts = ep.split(':');
  if (parts.length < 2) {
    e.add(path, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>');
    return;
  }
  const [host, portText] = [parts[0] as string, parts[1] as string];
  if (host !== '' && host !== '127.0.0.1')
    e.add(path, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>');
  if (!/^[+-]?\d+$/.test(portText)) {
    e.add(
      path,
      `sidecar: defaultEndpoint port (${portText}) is not a number: strconv.Atoi: parsing "${portText}": invalid syntax`,
    );
  } else {
    e.add(path, validatePort(Number(portText)));
  }
}

function checkEgress(egress: Obj[], e: Errors): void {
  const ports = new Set<number>();
  const sockets = new Set<string>();
  let catchAll = false;
  egress.forEach((l, i) => {
    const path = at('egress', i);
    const port = obj(l.port);
    if (!port) {
      if (catchAll) {
        e.add(path, 'sidecar: egress can have only one listener with empty port');
        return;
      }
      if (i === egress.length - 1) catchAll = true;
      else
        e.add(path, 'sidecar: the egress listener with empty port should be the last listener in the list');
    } else {
      const bind = str(l.bind);
      checkPortBindCapture(port, bind, str(l.captureMode) || 'DEFAULT', path, e);
      if (num(port.number) === 0) {
        if (sockets.has(bind))
          e.add(at(path, 'bind'), 'sidecar: unix domain socket values for listeners must be unique');
        sockets.add(bind);
      } else {
        if (ports.has(num(port.number)))
          e.add(at(path, 'port'), 'sidecar: ports on IP bound listeners must be unique');
        ports.add(num(port.number));
      }
    }
    const hosts = strs(l.hosts);
    if (hosts.length === 0)
      e.add(at(path, 'hosts'), 'sidecar: egress listener must contain at least one host');
    hosts.forEach((h, j) => {
      for (const msg of namespaceSlashHostErrors(h, false)) e.add(at(at(path, 'hosts'), j), msg);
    });
  });
}

function checkPortBindCapture(port: Obj, bind: string, capture: string, path: string, e: Errors): void {
  const p = at(path, 'port');
  e.add(at(p, 'name'), validatePortName(str(port.name)));
  e.add(at(p, 'protocol'), validateProtocol(str(port.protocol)));
  if (num(port.number) === 0) {
    if (!bind.startsWith(UNIX_PREFIX)) {
      e.add(at(path, 'bind'), 'sidecar: ports with 0 value must have a unix domain socket bind address');
    } else {
      e.add(at(path, 'bind'), validateUnixAddress(bind.slice(UNIX_PREFIX.length)));
    }
    if (capture !== 'DEFAULT' && capture !== 'NONE') {
      e.add(
        at(path, 'captureMode'),
        'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners',
      );
    }
    return;
  }
  e.add(at(p, 'number'), validatePort(num(port.number)));
  if (bind !== '') e.add(at(path, 'bind'), validateIPAddress(bind));
}

const HCM = 'envoy.http_connection_manager';
const LISTENER_CLASS = ['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER'];
const ROUTE_CLASS = ['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE'];

/** Checks a normalized EnvoyFilter spec (both the deprecated `filters` and `configPatches`). */
export function checkEnvoyFilter(ef: Obj, e: Errors): void {
  const selector = validateWorkloadSelectorLabels(obj(ef.workloadSelector)?.labels);
  if (selector.length > 0) {
    for (const msg of selector) e.add('workloadSelector.labels', msg);
    return;
  }
  if (Object.keys(obj(ef.workloadLabels) ?? {}).length > 0 && ef.workloadSelector !== undefined) {
    e.add(undefined, 'either workloadLabels or workloadSelector can be set, not both');
    return;
  }
  const filters = arr(ef.filters).map((f) => obj(f) ?? {});
  const patches = arr(ef.configPatches).map((p) => obj(p) ?? {});
  if (filters.length > 0 && patches.length > 0) {
    e.add(undefined, 'either filters or configPatches can be set, not both');
    return;
  }
  filters.forEach((f, i) => {
    checkDeprecatedFilter(f, at('filters', i), e);
  });
  patches.forEach((p, i) => {
    e.add(at('configPatches', i), checkPatch(p));
  });
}

function checkDeprecatedFilter(f: Obj, path: string, e: Errors): void {
  const pos = obj(f.insertPosition);
  if (pos && (pos.index === 'BEFORE' || pos.index === 'AFTER') && str(pos.relativeTo) === '') {
    e.add(at(path, 'insertPosition'), 'envoy filter: missing relativeTo filter with BEFORE/AFTER index');
  }
  if ((f.filterType ?? 'INVALID') === 'INVALID')
    e.add(at(path, 'filterType'), 'envoy filter: missing filter type');
  if (str(f.filterName) === '') e.add(at(path, 'filterName'), 'envoy filter: missing filter name');
  if (f.filterConfig === undefined) e.add(at(path, 'filterConfig'), 'envoy filter: missing filter config');
}

/** Istio reports at most one problem per config patch. */
function checkPatch(cp: Obj): string | undefined {
  const applyTo = str(cp.applyTo) || 'INVALID';
  if (applyTo === 'INVALID') return 'Envoy filter: missing applyTo';
  const patch = obj(cp.patch);
  if (!patch) return 'Envoy filter: missing patch';
  const op = str(patch.operation) || 'INVALID';
  if (op === 'INVALID') return 'Envoy filter: missing patch operation';
  if (op !== 'REMOVE' && patch.value === undefined)
    return 'Envoy filter: missing patch value for non-remove operation';
  if (patch.value !== undefined && obj(patch.value) === undefined)
    return 'Envoy filter: patch value must be an object';
  const match = obj(cp.match);
  const proxyVersion = str(obj(match?.proxy)?.proxyVersion);
  if (proxyVersion !== '') {
    try {
      new RegExp(proxyVersion);
    } catch (err) {
      return `Envoy filter: invalid regex for proxy version, [${(err as Error).message}]`;
    }
  }
  if (!match) return undefined;
  const hasObjectMatch = ['listener', 'routeConfiguration', 'cluster'].some((k) => match[k] !== undefined);
  if (!hasObjectMatch) return undefined;
  if (LISTENER_CLASS.includes(applyTo)) return checkListenerMatch(applyTo, obj(match.listener));
  if (ROUTE_CLASS.includes(applyTo) && match.routeConfiguration === undefined) {
    return 'Envoy filter: applyTo for http route class objects cannot have non route configuration match';
  }
  if (applyTo === 'CLUSTER' && match.cluster === undefined) {
    return 'Envoy filter: applyTo for cluster class objects cannot have non cluster match';
  }
  return undefined;
}

function checkListenerMatch(applyTo: string, listener: Obj | undefined): string | undefined {
  if (!listener) return 'Envoy filter: applyTo for listener class objects cannot have non listener match';
  const filter = obj(obj(listener.filterChain)?.filter);
  if (!filter) return undefined;
  if (str(filter.name) === '') return 'Envoy filter: filter match has no name to match on';
  const sub = obj(filter.subFilter);
  if (!sub) return undefined;
  if (applyTo !== 'HTTP_FILTER')
    return 'Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only';
  if (str(filter.name) !== HCM) return `Envoy filter: subfilter match requires filter match with ${HCM}`;
  if (str(sub.name) === '') return 'Envoy filter: subfilter match has no name to match on';
  return undefined;
}
