// Request and response records of the individual client operations (zookeeper.jute,
// org.apache.zookeeper.proto). Records with identical layouts share one implementation under
// each jute class name.

import { readJuteAcls, readJuteStrings, StatRecord, writeJuteAcls, writeJuteStrings, ClientInfoRecord, type JuteAcl, type JuteClientInfo, type JuteRecord, type JuteStat } from "./records.ts";

// ---------------------------------------------------------------------------------- requests

/** CreateRequest (create, create2, createContainer). `data` may be null: jute buffer length -1. */
export interface JuteCreateRequest {
  path: string;
  data: Uint8Array | null;
  acl: JuteAcl[];
  flags: number;
}
export const CreateRequestRecord: JuteRecord<JuteCreateRequest> = {
  write(w, v) {
    w.ustring(v.path).buffer(v.data);
    writeJuteAcls(w, v.acl);
    w.int(v.flags);
  },
  read(r) {
    return { path: r.string("path"), data: r.buffer(), acl: readJuteAcls(r), flags: r.int() };
  },
};

/** CreateTTLRequest: CreateRequest plus a trailing `long ttl` (milliseconds). */
export interface JuteCreateTTLRequest extends JuteCreateRequest {
  ttl: bigint;
}
export const CreateTTLRequestRecord: JuteRecord<JuteCreateTTLRequest> = {
  write(w, v) {
    CreateRequestRecord.write(w, v);
    w.long(v.ttl);
  },
  read(r) {
    const base = CreateRequestRecord.read(r);
    return { ...base, ttl: r.long() };
  },
};

/** {path, version}: DeleteRequest and CheckVersionRequest. */
export interface JutePathVersion {
  path: string;
  version: number;
}
const pathVersion: JuteRecord<JutePathVersion> = {
  write(w, v) {
    w.ustring(v.path).int(v.version);
  },
  read(r) {
    return { path: r.string("path"), version: r.int() };
  },
};
export const DeleteRequestRecord = pathVersion;
export const CheckVersionRequestRecord = pathVersion;

/** {path, watch}: ExistsRequest, GetDataRequest, GetChildrenRequest, GetChildren2Request. */
export interface JutePathWatch {
  path: string;
  watch: boolean;
}
const pathWatch: JuteRecord<JutePathWatch> = {
  write(w, v) {
    w.ustring(v.path).bool(v.watch);
  },
  read(r) {
    return { path: r.string("path"), watch: r.bool() };
  },
};
export const ExistsRequestRecord = pathWatch;
export const GetDataRequestRecord = pathWatch;
export const GetChildrenRequestRecord = pathWatch;
export const GetChildren2RequestRecord = pathWatch;

/**
 * {path}: GetACLRequest, SyncRequest, SyncResponse, CreateResponse, GetAllChildrenNumberRequest,
 * and 3.9's DeleteContainerRequest (a buffer of UTF-8, which is the same bytes as a ustring).
 */
export interface JutePath {
  path: string;
}
const pathOnly: JuteRecord<JutePath> = {
  write(w, v) {
    w.ustring(v.path);
  },
  read(r) {
    return { path: r.string("path") };
  },
};
export const GetACLRequestRecord = pathOnly;
export const SyncRequestRecord = pathOnly;
export const SyncResponseRecord = pathOnly;
export const CreateResponseRecord = pathOnly;
export const GetAllChildrenNumberRequestRecord = pathOnly;
export const DeleteContainerRequestRecord = pathOnly;

export interface JuteSetDataRequest {
  path: string;
  data: Uint8Array | null;
  version: number;
}
export const SetDataRequestRecord: JuteRecord<JuteSetDataRequest> = {
  write(w, v) {
    w.ustring(v.path).buffer(v.data).int(v.version);
  },
  read(r) {
    return { path: r.string("path"), data: r.buffer(), version: r.int() };
  },
};

export interface JuteSetACLRequest {
  path: string;
  acl: JuteAcl[];
  version: number;
}
export const SetACLRequestRecord: JuteRecord<JuteSetACLRequest> = {
  write(w, v) {
    w.ustring(v.path);
    writeJuteAcls(w, v.acl);
    w.int(v.version);
  },
  read(r) {
    return { path: r.string("path"), acl: readJuteAcls(r), version: r.int() };
  },
};

/** GetEphemeralsRequest. A null prefix decodes as "" (ZooKeeper treats null, "" and "/" alike). */
export interface JuteGetEphemeralsRequest {
  prefixPath: string;
}
export const GetEphemeralsRequestRecord: JuteRecord<JuteGetEphemeralsRequest> = {
  write(w, v) {
    w.ustring(v.prefixPath);
  },
  read(r) {
    return { prefixPath: r.ustring() ?? "" };
  },
};

/** AddWatchRequest; `mode` is an AddWatchMode. */
export interface JuteAddWatchRequest {
  path: string;
  mode: number;
}
export const AddWatchRequestRecord: JuteRecord<JuteAddWatchRequest> = {
  write(w, v) {
    w.ustring(v.path).int(v.mode);
  },
  read(r) {
    return { path: r.string("path"), mode: r.int() };
  },
};

/** {path, type}: RemoveWatchesRequest and CheckWatchesRequest; `type` is a WatcherType. */
export interface JuteWatchesRequest {
  path: string;
  type: number;
}
const watchesRequest: JuteRecord<JuteWatchesRequest> = {
  write(w, v) {
    w.ustring(v.path).int(v.type);
  },
  read(r) {
    return { path: r.string("path"), type: r.int() };
  },
};
export const RemoveWatchesRequestRecord = watchesRequest;
export const CheckWatchesRequestRecord = watchesRequest;

// --------------------------------------------------------------------------------- responses

export interface JuteCreate2Response {
  path: string;
  stat: JuteStat;
}
export const Create2ResponseRecord: JuteRecord<JuteCreate2Response> = {
  write(w, v) {
    w.ustring(v.path);
    StatRecord.write(w, v.stat);
  },
  read(r) {
    return { path: r.string("path"), stat: StatRecord.read(r) };
  },
};

/** {stat}: ExistsResponse, SetDataResponse, SetACLResponse. */
export interface JuteStatResponse {
  stat: JuteStat;
}
const statOnly: JuteRecord<JuteStatResponse> = {
  write(w, v) {
    StatRecord.write(w, v.stat);
  },
  read(r) {
    return { stat: StatRecord.read(r) };
  },
};
export const ExistsResponseRecord = statOnly;
export const SetDataResponseRecord = statOnly;
export const SetACLResponseRecord = statOnly;

/** GetDataResponse; `data` is null for a znode created with null data. */
export interface JuteGetDataResponse {
  data: Uint8Array | null;
  stat: JuteStat;
}
export const GetDataResponseRecord: JuteRecord<JuteGetDataResponse> = {
  write(w, v) {
    w.buffer(v.data);
    StatRecord.write(w, v.stat);
  },
  read(r) {
    return { data: r.buffer(), stat: StatRecord.read(r) };
  },
};

export interface JuteGetChildrenResponse {
  children: string[];
}
export const GetChildrenResponseRecord: JuteRecord<JuteGetChildrenResponse> = {
  write(w, v) {
    writeJuteStrings(w, v.children);
  },
  read(r) {
    return { children: readJuteStrings(r) };
  },
};

export interface JuteGetChildren2Response {
  children: string[];
  stat: JuteStat;
}
export const GetChildren2ResponseRecord: JuteRecord<JuteGetChildren2Response> = {
  write(w, v) {
    writeJuteStrings(w, v.children);
    StatRecord.write(w, v.stat);
  },
  read(r) {
    return { children: readJuteStrings(r), stat: StatRecord.read(r) };
  },
};

export interface JuteGetACLResponse {
  acl: JuteAcl[];
  stat: JuteStat;
}
export const GetACLResponseRecord: JuteRecord<JuteGetACLResponse> = {
  write(w, v) {
    writeJuteAcls(w, v.acl);
    StatRecord.write(w, v.stat);
  },
  read(r) {
    return { acl: readJuteAcls(r), stat: StatRecord.read(r) };
  },
};

export interface JuteGetAllChildrenNumberResponse {
  totalNumber: number;
}
export const GetAllChildrenNumberResponseRecord: JuteRecord<JuteGetAllChildrenNumberResponse> = {
  write(w, v) {
    w.int(v.totalNumber);
  },
  read(r) {
    return { totalNumber: r.int() };
  },
};

export interface JuteGetEphemeralsResponse {
  ephemerals: string[];
}
export const GetEphemeralsResponseRecord: JuteRecord<JuteGetEphemeralsResponse> = {
  write(w, v) {
    writeJuteStrings(w, v.ephemerals);
  },
  read(r) {
    return { ephemerals: readJuteStrings(r) };
  },
};

export interface JuteWhoAmIResponse {
  clientInfo: JuteClientInfo[];
}
export const WhoAmIResponseRecord: JuteRecord<JuteWhoAmIResponse> = {
  write(w, v) {
    w.vector(v.clientInfo, ClientInfoRecord.write);
  },
  read(r) {
    return { clientInfo: r.vector(ClientInfoRecord.read) ?? [] };
  },
};
