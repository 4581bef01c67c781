from example_server.server import main

main()
