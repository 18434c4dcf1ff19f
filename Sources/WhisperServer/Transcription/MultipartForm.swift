import Foundation
import MultipartKit
import NIOCore

/// The parts of a `multipart/form-data` body: text fields by name, and files.
struct MultipartForm {
    /// One part.
    struct Part {
        var name: String?
        var filename: String?
        var contentType: String?
        var body = ByteBuffer()
    }

    /// Text values by field name, in order (repeated names such as `timestamp_granularities[]` keep every value).
    private(set) var fields: [String: [String]] = [:]
    /// Parts with a file name, by field name.
    private(set) var files: [String: Part] = [:]

    /// The first value of a text field.
    func field(_ name: String) -> String? { fields[name]?.first }

    /// Parses a complete body.
    /// - Parameters:
    ///   - body: the request body.
    ///   - boundary: the boundary from the `Content-Type` header.
    ///   - limits: caps on part count and text field size.
    /// - Throws: 400 for malformed bodies, too many parts or oversized text fields.
    static func parse(_ body: ByteBuffer, boundary: String, limits: ServerConfiguration.Limits) throws(OpenAIError) -> MultipartForm {
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var current = Part()
        var inPart = false
        var headerProblem: OpenAIError?
        parser.onHeader = { name, value in
            inPart = true
            guard name.lowercased() == "content-disposition" || name.lowercased() == "content-type" else { return }
            if name.lowercased() == "content-type" {
                current.contentType = value
                return
            }
            let parameters = HeaderParameters(value)
            guard parameters.value.lowercased() == "form-data" else {
                headerProblem = .malformedBody("multipart part has Content-Disposition '\(parameters.value.prefix(40))', expected form-data")
                return
            }
            current.name = parameters["name"]
            current.filename = parameters["filename"]
        }
        parser.onBody = { buffer in
            inPart = true
            current.body.writeBuffer(&buffer)
        }
        parser.onPartComplete = {
            parts.append(current)
            current = Part()
            inPart = false
        }
        do {
            try parser.execute(body)
        } catch {
            throw .malformedBody("the multipart/form-data body is malformed")
        }
        if let headerProblem { throw headerProblem }
        if inPart || parts.isEmpty {
            throw .malformedBody("the multipart/form-data body is truncated: its closing boundary is missing")
        }
        if parts.count > limits.maxFormParts {
            throw .malformedBody("the multipart/form-data body has \(parts.count) parts, more than the limit of \(limits.maxFormParts)")
        }

        var form = MultipartForm()
        for part in parts {
            guard let name = part.name, !name.isEmpty else {
                throw .malformedBody("a multipart/form-data part has no name")
            }
            if part.filename != nil {
                if form.files[name] != nil { throw .invalidParameter(name, "'\(name.prefix(40))' is given more than once") }
                form.files[name] = part
            } else {
                let limit = name == "prompt" ? limits.maxPromptBytes : limits.maxTextFieldBytes
                guard part.body.readableBytes <= limit else {
                    throw .invalidParameter(
                        name, "'\(name.prefix(40))' is longer than the limit of \(limit) bytes", code: "string_above_max_length"
                    )
                }
                form.fields[name, default: []].append(String(buffer: part.body))
            }
        }
        return form
    }
}

/// A header value with `; key=value` parameters, e.g. `form-data; name="file"; filename="a.wav"`.
struct HeaderParameters {
    /// The part before the first `;`.
    let value: String
    private var parameters: [String: String] = [:]
    /// Parameter names given more than once (the first value is kept).
    private var repeated: Set<String> = []

    init(_ header: String) {
        var pieces: [String] = []
        var piece = ""
        var quoted = false
        var escaped = false
        for character in header {
            if escaped {
                piece.append(character)
                escaped = false
            } else if character == "\\" && quoted {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";" && !quoted {
                pieces.append(piece)
                piece = ""
            } else {
                piece.append(character)
            }
        }
        pieces.append(piece)
        value = pieces.first?.trimmingCharacters(in: .whitespaces) ?? ""
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            if parameters[key] == nil {
                parameters[key] = pair[1].trimmingCharacters(in: .whitespaces)
            } else {
                repeated.insert(key)
            }
        }
    }

    subscript(_ key: String) -> String? { parameters[key.lowercased()] }

    /// Whether the parameter is given more than once (ambiguous: parsers disagree on which one wins).
    func isRepeated(_ key: String) -> Bool { repeated.contains(key.lowercased()) }
}
