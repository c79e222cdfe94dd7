// KV v1 and v2 behind one interface: the API paths differ, the UI does not.
export function kvClient(api, mount, version) {
  const v2 = version === 2;
  const join = (...parts) => parts.filter((p) => p !== "").join("/");
  return {
    v2,
    mount,
    dataPath: (path) => (v2 ? join(mount, "data", path) : join(mount, path)),
    metadataPath: (path) => (v2 ? join(mount, "metadata", path) : join(mount, path)),
    async list(folder) {
      try {
        const reply = await api.list(v2 ? join(mount, "metadata", folder) : join(mount, folder));
        return reply.data?.keys || [];
      } catch (error) {
        if (error.status === 404) return [];
        throw error;
      }
    },
    // {data, metadata} (metadata null for v1); data null for a deleted or destroyed version.
    async read(path, versionNumber) {
      if (!v2) {
        const reply = await api.get(join(mount, path));
        return { data: reply.data, metadata: null };
      }
      try {
        const query = versionNumber ? { version: versionNumber } : undefined;
        const reply = await api.get(join(mount, "data", path), query);
        return { data: reply.data.data, metadata: reply.data.metadata };
      } catch (error) {
        // A deleted version answers 404 with its metadata in the body.
        if (error.status === 404 && error.body?.data?.metadata) {
          return { data: null, metadata: error.body.data.metadata };
        }
        throw error;
      }
    },
    write(path, data, cas) {
      if (!v2) return api.post(join(mount, path), data);
      const body = { data };
      if (cas !== undefined && cas !== null) body.options = { cas };
      return api.post(join(mount, "data", path), body);
    },
    metadata: (path) => api.get(join(mount, "metadata", path)).then((r) => r.data),
    writeMetadata: (path, body) => api.post(join(mount, "metadata", path), body),
    deleteLatest: (path) => api.del(v2 ? join(mount, "data", path) : join(mount, path)),
    deleteVersions: (path, versions) => api.post(join(mount, "delete", path), { versions }),
    undelete: (path, versions) => api.post(join(mount, "undelete", path), { versions }),
    destroy: (path, versions) => api.put(join(mount, "destroy", path), { versions }),
    deleteAll: (path) => api.del(join(mount, "metadata", path)),
  };
}

export async function kvVersion(api, mount) {
  const reply = await api.get(`sys/internal/ui/mounts/${mount}`);
  return Number(reply.data?.options?.version || 1);
}
