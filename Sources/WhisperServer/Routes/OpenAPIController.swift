import Foundation
import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 document of this API, shipped as the WhisperServer target's resource
/// (`Sources/WhisperServer/Resources/openapi.json`; `docs/openapi.json` links to it).
struct OpenAPIController<Context: RequestContext> {
    /// The document's bytes, or `nil` when the resource bundle is not installed next to the executable.
    let document: ByteBuffer?

    func addRoutes(to router: Router<Context>) {
        router.get("openapi.json") { _, _ in
            guard let document else {
                throw OpenAIError(
                    status: .notFound,
                    message: "the OpenAPI document is not installed: copy WhisperServer_WhisperServer.resources next to the executable",
                    code: "openapi_not_installed"
                )
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: document))
        }
    }

    /// Name of the resource bundle SwiftPM builds for the WhisperServer target.
    static var bundleName: String { "WhisperServer_WhisperServer.resources" }

    /// Reads the document from the resource bundle next to the executable (or the test runner), without trapping when
    /// it is missing as `Bundle.module` would.
    static func loadDocument() -> ByteBuffer? {
        var directories = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            directories.append(executable)
        }
        for directory in directories {
            let url = directory.appendingPathComponent(bundleName).appendingPathComponent("openapi.json")
            if let data = FileManager.default.contents(atPath: url.path) { return ByteBuffer(bytes: data) }
        }
        return nil
    }
}
