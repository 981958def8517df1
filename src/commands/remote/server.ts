// Where the remote commands look for a server when neither --server nor PIECEWORK_SERVER_URL says.
export const DEFAULT_SERVER = 'http://127.0.0.1:3000'
