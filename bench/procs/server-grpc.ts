/** gRPC comparison server: `@grpc/grpc-js` over TLS with the same certificate, unary Query → QueryRsp. */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { benchService, type QueryReqMessage, type QueryRspMessage } from "../lib/grpc-service.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";

const config = childConfig<{ pki: BenchPkiFiles }>();
const server = new Server();
server.addService(benchService, {
  query: (
    call: ServerUnaryCall<QueryReqMessage, QueryRspMessage>,
    callback: sendUnaryData<QueryRspMessage>,
  ) => {
    callback(null, { orderId: call.request.orderId, state: 2, progress: 100 });
  },
});
const credentials = ServerCredentials.createSsl(
  null,
  [
    {
      cert_chain: Buffer.from(pem(config.pki.serverCert)),
      private_key: Buffer.from(pem(config.pki.serverKey)),
    },
  ],
  false,
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
);
serveRpc({ mem: () => memoryAfterGc(), cpu: () => cpuMicros() }, { port });
